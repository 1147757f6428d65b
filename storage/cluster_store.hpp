#pragma once
// Cluster membership and partition leases in PostgreSQL: which node runs,
// which process (incarnation) is that node now, and which partitions it owns
// with which epoch. No consensus of our own: the database's row locks and
// conditional updates decide.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::storage {

class pg_connection;

struct node_identity {
  std::string node_id;
  std::string incarnation; // unique per process start
  std::string api_url;     // where its public API listens
  // host:port of its middleman; empty: clustering is off and the node must
  // be alone on its database.
  std::string cluster_address;
};

struct lease_terms {
  int partitions = 64;
  int lease_seconds = 10;
  // The cluster's size as configured (this node and its seeds): a node that
  // starts first claims only its share and leaves the rest to the others.
  int expected_nodes = 1;
};

// Who holds which partition now, as the database says.
struct partition_map {
  struct node {
    std::string node_id;
    std::string api_url;
    std::string cluster_address;
  };
  std::vector<std::string> owners;    // per partition; empty while no live lease
  std::vector<int64_t> lease_left_ms; // per partition: how long its lease still runs
  std::vector<node> nodes;            // the live ones
};

// The partition of a schedule (by schedule id), a wallet (by user id) or a
// reservation (by its id, which encodes its schedule's partition).
inline int partition_of(int64_t key, int partitions) {
  return static_cast<int>(key % partitions);
}

// Registers this process as the node's current incarnation, superseding any
// earlier one (whose transactions then fail their fence). Claims the node's
// own partitions, then free or expired ones up to its fair share, raising
// their epochs. Returns the id of a live node it cannot run beside instead,
// without registering: one of the two has clustering off.
std::optional<std::string> join_cluster(pg_connection& conn, const node_identity& me,
                                        const lease_terms& terms);

struct lease_renewal {
  bool superseded = false; // another process is this node now: stop
  int owned = 0;           // partitions held after the renewal
  int claimed = 0;         // of which newly claimed (epoch raised)
  int expelled = 0;        // nodes whose leases ran out, fenced off now
  // Why expelling and claiming failed this time (the node's own leases were
  // renewed all the same); empty when they ran.
  std::string takeover_error;
  partition_map map;
};

// Marks the node seen and extends its leases. Then, in a transaction of its
// own that waits at most a second for a row lock (a stalled node may hold
// one), nodes whose leases ran out are expelled (their incarnation is
// replaced, so their fence fails from now on) and their partitions, like
// free ones, are claimed up to the fair share.
lease_renewal renew_leases(pg_connection& conn, const node_identity& me, const lease_terms& terms);

// The map as it stands, for a node that has just joined.
partition_map read_partition_map(pg_connection& conn, int partitions);

// Releases the node's leases and marks it gone, if this process is still it.
void leave_cluster(pg_connection& conn, const node_identity& me);

// Throws pg_error (SQLSTATE 'BX001') unless `me` is still its node's
// incarnation. Run first in every transaction of the process; holds a share
// lock on the node's row until the transaction ends.
void fence(pg_connection& conn, const node_identity& me);

// {"nodes":[...],"partitions":[...]} for /admin/cluster, built by PostgreSQL.
std::string cluster_json(pg_connection& conn);

} // namespace boxoffice::storage
