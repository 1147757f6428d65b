#pragma once
// Cluster membership and partition leases in PostgreSQL: which node runs,
// which process (incarnation) is that node now, and which partitions it owns
// with which epoch. No consensus of our own: the database's row locks and
// conditional updates decide.

#include <optional>
#include <string>

namespace boxoffice::storage {

class pg_connection;

struct node_identity {
  std::string node_id;
  std::string incarnation; // unique per process start
  std::string api_url;     // where its public API listens
};

struct lease_terms {
  int partitions = 64;
  int lease_seconds = 10;
};

// Registers this process as the node's current incarnation, superseding any
// earlier one (whose transactions then fail their fence), and claims the
// partitions that are free, expired or the node's own, raising their epochs.
// Returns the id of another node that is still live instead, without
// registering: running several nodes on one database needs routing between
// them, which is not built yet.
std::optional<std::string> join_cluster(pg_connection& conn, const node_identity& me,
                                        const lease_terms& terms);

struct lease_renewal {
  bool superseded = false; // another process is this node now: stop
  int owned = 0;           // partitions held after the renewal
  int claimed = 0;         // of which newly claimed (epoch raised)
};

// Marks the node seen, extends its leases and claims expired or free ones.
lease_renewal renew_leases(pg_connection& conn, const node_identity& me, const lease_terms& terms);

// Releases the node's leases and marks it gone, if this process is still it.
void leave_cluster(pg_connection& conn, const node_identity& me);

// Throws pg_error (SQLSTATE 'BX001') unless `me` is still its node's
// incarnation. Run first in every transaction of the process; holds a share
// lock on the node's row until the transaction ends.
void fence(pg_connection& conn, const node_identity& me);

// {"nodes":[...],"partitions":[...]} for /admin/cluster, built by PostgreSQL.
std::string cluster_json(pg_connection& conn);

} // namespace boxoffice::storage
