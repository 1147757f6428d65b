#include "storage/cluster_store.hpp"

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

// "now() + lease" in SQL, the seconds as parameter $n.
std::string lease_end(int n) {
  return "now() + make_interval(secs => $" + std::to_string(n) + ")";
}

} // namespace

std::optional<std::string> join_cluster(pg_connection& conn, const node_identity& me,
                                        const lease_terms& terms) {
  return in_transaction(conn, [&]() -> std::optional<std::string> {
    // One join at a time; renewals and fences (row locks) are not held up.
    conn.run("LOCK TABLE cluster_nodes IN SHARE ROW EXCLUSIVE MODE");
    auto other = conn.exec("SELECT node_id FROM cluster_nodes WHERE node_id <> $1 AND seen_at > "
                           "now() - make_interval(secs => $2) ORDER BY node_id LIMIT 1",
                           params(me.node_id, terms.lease_seconds));
    if (!other.empty())
      return other.text(0, 0); // nothing written yet
    // Taking the node's row waits for the transactions of an earlier
    // incarnation that passed their fence; after this commits, none can.
    conn.exec("INSERT INTO cluster_nodes (node_id, incarnation, api_url) VALUES ($1, $2, $3) "
              "ON CONFLICT (node_id) DO UPDATE SET incarnation = EXCLUDED.incarnation, "
              "api_url = EXCLUDED.api_url, started_at = now(), seen_at = now()",
              params(me.node_id, me.incarnation, me.api_url));
    conn.exec("INSERT INTO partition_leases (partition) SELECT generate_series(0, $1 - 1) "
              "ON CONFLICT (partition) DO NOTHING",
              params(terms.partitions));
    conn.exec(
      "UPDATE partition_leases SET owner = $1, epoch = epoch + 1, expires_at = " + lease_end(2) +
        " WHERE partition < $3 AND (owner IS NULL OR owner = $1 OR expires_at <= now())",
      params(me.node_id, terms.lease_seconds, terms.partitions));
    return std::nullopt;
  });
}

lease_renewal renew_leases(pg_connection& conn, const node_identity& me, const lease_terms& terms) {
  return in_transaction(conn, [&] {
    lease_renewal out;
    auto seen = conn.exec("UPDATE cluster_nodes SET seen_at = now(), api_url = $3 "
                          "WHERE node_id = $1 AND incarnation = $2",
                          params(me.node_id, me.incarnation, me.api_url));
    if (seen.affected() == 0) {
      out.superseded = true; // nothing written
      return out;
    }
    // Ours, even if expired meanwhile: nobody else took them, and only this
    // incarnation could write (the fence), so the epoch stays.
    conn.exec("UPDATE partition_leases SET expires_at = " + lease_end(2) +
                " WHERE owner = $1 AND partition < $3",
              params(me.node_id, terms.lease_seconds, terms.partitions));
    auto claimed =
      conn.exec("UPDATE partition_leases SET owner = $1, epoch = epoch + 1, "
                "expires_at = " +
                  lease_end(2) + " WHERE partition < $3 AND (owner IS NULL OR expires_at <= now())",
                params(me.node_id, terms.lease_seconds, terms.partitions));
    out.claimed = static_cast<int>(claimed.affected());
    auto owned = conn.exec("SELECT count(*) FROM partition_leases WHERE owner = $1 AND "
                           "partition < $2",
                           params(me.node_id, terms.partitions));
    out.owned = static_cast<int>(owned.int64(0, 0));
    return out;
  });
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
