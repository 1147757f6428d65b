#include "storage/cluster_store.hpp"

#include <algorithm>

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

// "now() + lease" in SQL, the seconds as parameter $n.
std::string lease_end(int n) {
  return "now() + make_interval(secs => $" + std::to_string(n) + ")";
}

// Live: renewed within its lease, and not expelled.
constexpr const char* live_node =
  "seen_at > now() - make_interval(secs => $2) AND incarnation NOT LIKE 'expelled:%'";

// Claims up to `wanted` partitions that match `which`, lowest first;
// partitions another node is claiming right now are skipped.
int claim(pg_connection& conn, const node_identity& me, const lease_terms& terms,
          const std::string& which, int64_t wanted) {
  if (wanted <= 0)
    return 0;
  auto claimed = conn.exec(
    "UPDATE partition_leases SET owner = $1, epoch = epoch + 1, expires_at = " + lease_end(2) +
      " WHERE partition IN (SELECT partition FROM partition_leases WHERE partition < $3 AND " +
      which + " ORDER BY partition LIMIT $4 FOR UPDATE SKIP LOCKED)",
    params(me.node_id, terms.lease_seconds, terms.partitions, wanted));
  return static_cast<int>(claimed.affected());
}

int64_t share_of(int partitions, int64_t nodes) {
  return (partitions + nodes - 1) / nodes;
}

// Claims partitions until the node holds its fair share. A dead node's
// partitions are shared among the live nodes. Free ones too, except while
// this node is starting (for three leases): then it leaves room for the
// configured peers that have not joined yet, so that nodes started together
// end up with even shares.
int claim_share(pg_connection& conn, const node_identity& me, const lease_terms& terms) {
  auto facts =
    conn.exec(std::string{"SELECT (SELECT count(*) FROM cluster_nodes WHERE "} + live_node +
                "), (SELECT now() - started_at < make_interval(secs => 3 * $2) FROM cluster_nodes "
                "WHERE node_id = $1), (SELECT count(*) FROM partition_leases WHERE owner = $1 AND "
                "partition < $3 AND expires_at > now())",
              params(me.node_id, terms.lease_seconds, terms.partitions));
  auto live = std::max<int64_t>(facts.int64(0, 0), 1);
  bool starting = facts.text(0, 1) == "t";
  auto held = facts.int64(0, 2);
  auto orphans = claim(conn, me, terms, "owner IS NOT NULL AND expires_at <= now()",
                       share_of(terms.partitions, live) - held);
  auto nodes = starting ? std::max<int64_t>(live, terms.expected_nodes) : live;
  auto free =
    claim(conn, me, terms, "owner IS NULL", share_of(terms.partitions, nodes) - held - orphans);
  return orphans + free;
}

// Nodes holding a lease that ran out have stopped renewing: replacing their
// incarnation fails every later fence of theirs, and waits for the writes
// that passed it. Their partitions are then free to claim.
int expel_lapsed_nodes(pg_connection& conn, const node_identity& me) {
  auto rows = conn.exec("UPDATE cluster_nodes SET incarnation = 'expelled:' || incarnation "
                        "WHERE node_id <> $1 AND incarnation NOT LIKE 'expelled:%' AND node_id IN "
                        "(SELECT owner FROM partition_leases WHERE expires_at <= now())",
                        params(me.node_id));
  return static_cast<int>(rows.affected());
}

} // namespace

std::optional<std::string> join_cluster(pg_connection& conn, const node_identity& me,
                                        const lease_terms& terms) {
  return in_transaction(conn, [&]() -> std::optional<std::string> {
    // One join at a time; renewals and fences (row locks) are not held up.
    conn.run("LOCK TABLE cluster_nodes IN SHARE ROW EXCLUSIVE MODE");
    // Without a middleman on both sides two nodes could not route to each
    // other, and each would run actors for every schedule and wallet.
    auto other = conn.exec(
      std::string{"SELECT node_id FROM cluster_nodes WHERE node_id <> $1 AND "} + live_node +
        " AND ($3 = '' OR cluster_address = '') "
        "ORDER BY node_id LIMIT 1",
      params(me.node_id, terms.lease_seconds, me.cluster_address));
    if (!other.empty())
      return other.text(0, 0); // nothing written yet
    // Taking the node's row waits for the transactions of an earlier
    // incarnation that passed their fence; after this commits, none can.
    conn.exec("INSERT INTO cluster_nodes (node_id, incarnation, api_url, cluster_address) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (node_id) DO UPDATE SET "
              "incarnation = EXCLUDED.incarnation, api_url = EXCLUDED.api_url, "
              "cluster_address = EXCLUDED.cluster_address, started_at = now(), seen_at = now()",
              params(me.node_id, me.incarnation, me.api_url, me.cluster_address));
    conn.exec("INSERT INTO partition_leases (partition) SELECT generate_series(0, $1 - 1) "
              "ON CONFLICT (partition) DO NOTHING",
              params(terms.partitions));
    // The node's own partitions come back at once, even unexpired: only an
    // earlier incarnation of it held them, and it is fenced off now.
    conn.exec("UPDATE partition_leases SET epoch = epoch + 1, expires_at = " + lease_end(2) +
                " WHERE partition < $3 AND owner = $1",
              params(me.node_id, terms.lease_seconds, terms.partitions));
    expel_lapsed_nodes(conn, me);
    claim_share(conn, me, terms);
    return std::nullopt;
  });
}

lease_renewal renew_leases(pg_connection& conn, const node_identity& me, const lease_terms& terms) {
  lease_renewal out;
  in_transaction(conn, [&] {
    auto seen = conn.exec("UPDATE cluster_nodes SET seen_at = now(), api_url = $3 "
                          "WHERE node_id = $1 AND incarnation = $2",
                          params(me.node_id, me.incarnation, me.api_url));
    if (seen.affected() == 0) {
      out.superseded = true; // nothing written
      return false;
    }
    // Ours, even if expired meanwhile: while this incarnation is not
    // expelled nobody else took them, and only it could write (the fence),
    // so the epoch stays.
    conn.exec("UPDATE partition_leases SET expires_at = " + lease_end(2) +
                " WHERE owner = $1 AND partition < $3",
              params(me.node_id, terms.lease_seconds, terms.partitions));
    return true;
  });
  if (out.superseded)
    return out;
  try {
    in_transaction(conn, [&] {
      conn.run("SET LOCAL lock_timeout = '1s'");
      out.expelled = expel_lapsed_nodes(conn, me);
      out.claimed = claim_share(conn, me, terms);
      return true;
    });
  } catch (const pg_error& e) {
    out.takeover_error = e.what();
  }
  out.map = read_partition_map(conn, terms.partitions);
  for (auto& owner : out.map.owners)
    out.owned += owner == me.node_id ? 1 : 0;
  return out;
}

partition_map read_partition_map(pg_connection& conn, int partitions) {
  partition_map out;
  out.owners.resize(static_cast<size_t>(partitions));
  out.lease_left_ms.resize(static_cast<size_t>(partitions));
  auto leases = conn.exec("SELECT partition, owner, (extract(epoch FROM expires_at - now()) * "
                          "1000)::bigint FROM partition_leases WHERE partition < $1 "
                          "AND owner IS NOT NULL AND expires_at > now()",
                          params(partitions));
  for (int i = 0; i < leases.size(); ++i) {
    auto p = static_cast<size_t>(leases.int64(i, 0));
    out.owners[p] = leases.text(i, 1);
    out.lease_left_ms[p] = leases.int64(i, 2);
  }
  auto nodes = conn.exec("SELECT node_id, api_url, cluster_address FROM cluster_nodes WHERE "
                         "incarnation NOT LIKE 'expelled:%' AND seen_at > '-infinity' "
                         "ORDER BY node_id");
  for (int i = 0; i < nodes.size(); ++i)
    out.nodes.push_back({nodes.text(i, 0), nodes.text(i, 1), nodes.text(i, 2)});
  return out;
}

void leave_cluster(pg_connection& conn, const node_identity& me) {
  conn.exec("WITH me AS (UPDATE cluster_nodes SET seen_at = '-infinity' "
            "WHERE node_id = $1 AND incarnation = $2 RETURNING node_id) "
            "UPDATE partition_leases SET owner = NULL, expires_at = '-infinity' "
            "WHERE owner IN (SELECT node_id FROM me)",
            params(me.node_id, me.incarnation));
}

void fence(pg_connection& conn, const node_identity& me) {
  auto rows = conn.exec("SELECT 1 FROM cluster_nodes WHERE node_id = $1 AND incarnation = $2 "
                        "FOR SHARE",
                        params(me.node_id, me.incarnation));
  if (rows.empty())
    throw pg_error("fenced: this process is no longer node '" + me.node_id +
                     "' (a newer incarnation took over); it must not write",
                   "BX001");
}

std::string cluster_json(pg_connection& conn) {
  auto rows = conn.exec(R"SQL(
SELECT json_build_object(
  'nodes', COALESCE((SELECT json_agg(json_build_object(
      'nodeId', n.node_id, 'incarnation', n.incarnation, 'apiUrl', n.api_url,
      'clusterAddress', n.cluster_address, 'expelled', n.incarnation LIKE 'expelled:%',
      'startedAt', n.started_at,
      'seenAgoMs', CASE WHEN n.seen_at = '-infinity' THEN NULL
                        ELSE (extract(epoch FROM now() - n.seen_at) * 1000)::bigint END,
      'leasedPartitions', (SELECT count(*) FROM partition_leases p
                           WHERE p.owner = n.node_id AND p.expires_at > now()))
    ORDER BY n.node_id) FROM cluster_nodes n), '[]'::json),
  'partitions', COALESCE((SELECT json_agg(json_build_object(
      'partition', p.partition, 'owner', p.owner, 'epoch', p.epoch,
      'expiresInMs', CASE WHEN p.expires_at = '-infinity' THEN NULL
                          ELSE (extract(epoch FROM p.expires_at - now()) * 1000)::bigint END)
    ORDER BY p.partition) FROM partition_leases p), '[]'::json))::text)SQL");
  return rows.text(0, 0);
}

} // namespace boxoffice::storage
