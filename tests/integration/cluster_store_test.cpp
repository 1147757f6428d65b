// Membership, leases and the fence, against a real PostgreSQL.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "pg_fixture.hpp"
#include "storage/cluster_store.hpp"
#include "storage/migrations.hpp"

using namespace boxoffice;
using namespace boxoffice::storage;

namespace {

struct cluster_db {
  testing::fresh_database db;
  pg_connection conn{db.url};
  cluster_db() { apply_migrations(conn, embedded_migrations()); }

  int64_t epoch(int partition) {
    return conn.exec("SELECT epoch FROM partition_leases WHERE partition = $1", params(partition))
      .int64(0, 0);
  }
  int64_t owned_by(const std::string& node) {
    return conn
      .exec("SELECT count(*) FROM partition_leases WHERE owner = $1 AND expires_at > now()",
            params(node))
      .int64(0, 0);
  }
};

const lease_terms terms{8, 3};

} // namespace

TEST_CASE("a node that joins owns every partition with a first epoch", "[cluster]") {
  cluster_db c;
  node_identity a{"node-a", "inc-1", "http://127.0.0.1:1", ""};
  REQUIRE_FALSE(join_cluster(c.conn, a, terms));
  CHECK(c.owned_by("node-a") == 8);
  CHECK(c.epoch(0) == 1);
  auto r = renew_leases(c.conn, a, terms);
  CHECK_FALSE(r.superseded);
  CHECK(r.owned == 8);
  CHECK(r.claimed == 0);
  CHECK(c.epoch(0) == 1); // renewing keeps the epoch
  CHECK_NOTHROW(fence(c.conn, a));
}

TEST_CASE("another node is refused while the first is live, and joins once it left", "[cluster]") {
  cluster_db c;
  node_identity a{"node-a", "inc-1", "http://127.0.0.1:1", ""};
  node_identity b{"node-b", "inc-1", "http://127.0.0.1:2", ""};
  REQUIRE_FALSE(join_cluster(c.conn, a, terms));
  auto other = join_cluster(c.conn, b, terms);
  REQUIRE(other);
  CHECK(*other == "node-a");
  CHECK(c.owned_by("node-b") == 0);
  leave_cluster(c.conn, a);
  CHECK(c.owned_by("node-a") == 0);
  REQUIRE_FALSE(join_cluster(c.conn, b, terms));
  CHECK(c.owned_by("node-b") == 8);
  CHECK(c.epoch(3) == 2); // a new owner, a new epoch
}

TEST_CASE("a dead node's leases are taken over after they expire", "[cluster]") {
  cluster_db c;
  node_identity a{"node-a", "inc-1", "http://127.0.0.1:1", ""};
  node_identity b{"node-b", "inc-1", "http://127.0.0.1:2", ""};
  REQUIRE_FALSE(join_cluster(c.conn, a, terms));
  // node-a stops renewing (it was SIGKILLed): as if its last sign of life and
  // its leases lay past the lease time.
  c.conn.exec("UPDATE cluster_nodes SET seen_at = now() - interval '4 seconds'");
  c.conn.exec("UPDATE partition_leases SET expires_at = now() - interval '1 second'");
  REQUIRE_FALSE(join_cluster(c.conn, b, terms));
  CHECK(c.owned_by("node-b") == 8);
  CHECK(c.epoch(0) == 2);
}

TEST_CASE("a restarted node supersedes its earlier process, which is fenced", "[cluster]") {
  cluster_db c;
  node_identity old_process{"node-a", "inc-1", "http://127.0.0.1:1", ""};
  node_identity new_process{"node-a", "inc-2", "http://127.0.0.1:1", ""};
  REQUIRE_FALSE(join_cluster(c.conn, old_process, terms));
  // The same node restarted at once: no wait for its own leases.
  REQUIRE_FALSE(join_cluster(c.conn, new_process, terms));
  CHECK(c.epoch(5) == 2);
  CHECK_THROWS_WITH(fence(c.conn, old_process), Catch::Contains("fenced"));
  CHECK_NOTHROW(fence(c.conn, new_process));
  CHECK(renew_leases(c.conn, old_process, terms).superseded);
  // The earlier process leaving releases nothing of the new one's.
  leave_cluster(c.conn, old_process);
  CHECK(c.owned_by("node-a") == 8);
}

TEST_CASE("a takeover waits for the transactions that passed the fence", "[cluster]") {
  cluster_db c;
  node_identity old_process{"node-a", "inc-1", "http://127.0.0.1:1", ""};
  node_identity new_process{"node-a", "inc-2", "http://127.0.0.1:1", ""};
  REQUIRE_FALSE(join_cluster(c.conn, old_process, terms));
  pg_connection writer{c.db.url};
  writer.run("BEGIN");
  fence(writer, old_process); // a write of the old process is under way
  std::atomic<bool> joined{false};
  std::thread takeover([&] {
    pg_connection conn{c.db.url};
    join_cluster(conn, new_process, terms);
    joined = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(joined); // held back by the share lock of the write in flight
  writer.run("COMMIT");
  takeover.join();
  CHECK(joined);
  writer.run("BEGIN");
  CHECK_THROWS(fence(writer, old_process)); // and no later write passes
  writer.run("ROLLBACK");
}

namespace {

const lease_terms three_nodes{8, 3, 3}; // each node configured with two seeds

node_identity clustered(const std::string& id, int port) {
  return {id, "inc-1", "http://127.0.0.1:" + std::to_string(port),
          "127.0.0.1:" + std::to_string(port + 1000)};
}

} // namespace

TEST_CASE("nodes started together take even shares of the partitions", "[cluster]") {
  cluster_db c;
  auto a = clustered("node-a", 1), b = clustered("node-b", 2), d = clustered("node-c", 3);
  REQUIRE_FALSE(join_cluster(c.conn, a, three_nodes));
  CHECK(c.owned_by("node-a") == 3); // room left for the two peers still starting
  REQUIRE_FALSE(join_cluster(c.conn, b, three_nodes));
  REQUIRE_FALSE(join_cluster(c.conn, d, three_nodes));
  CHECK(c.owned_by("node-b") == 3);
  CHECK(c.owned_by("node-c") == 2);
  auto r = renew_leases(c.conn, a, three_nodes);
  CHECK(r.claimed == 0);
  REQUIRE(r.map.owners.size() == 8);
  CHECK(r.map.owners[0] == "node-a");
  CHECK(r.map.owners[7] == "node-c");
  CHECK(r.map.nodes.size() == 3);
  CHECK(r.map.nodes[1].cluster_address == "127.0.0.1:1002");
}

TEST_CASE("a node without clustering is refused beside a clustered one", "[cluster]") {
  cluster_db c;
  REQUIRE_FALSE(join_cluster(c.conn, clustered("node-a", 1), three_nodes));
  auto refused = join_cluster(c.conn, {"node-b", "inc-1", "http://127.0.0.1:2", ""}, terms);
  REQUIRE(refused);
  CHECK(*refused == "node-a");
}

TEST_CASE("a node whose leases ran out is expelled and fenced, and the survivors share its "
          "partitions",
          "[cluster]") {
  cluster_db c;
  auto a = clustered("node-a", 1), b = clustered("node-b", 2), d = clustered("node-c", 3);
  for (auto* n : {&a, &b, &d})
    REQUIRE_FALSE(join_cluster(c.conn, *n, three_nodes));
  // node-a stalls: its leases run out while its row still names it.
  c.conn.exec("UPDATE partition_leases SET expires_at = now() - interval '1 second' "
              "WHERE owner = 'node-a'");
  auto rb = renew_leases(c.conn, b, three_nodes);
  CHECK(rb.expelled == 1);
  CHECK_THROWS_WITH(fence(c.conn, a), Catch::Contains("fenced"));
  CHECK(renew_leases(c.conn, a, three_nodes).superseded);
  auto rd = renew_leases(c.conn, d, three_nodes);
  CHECK(rb.claimed + rd.claimed == 3); // all of node-a's, in fair shares of the two
  CHECK(c.owned_by("node-b") == 4);
  CHECK(c.owned_by("node-c") == 4);
  CHECK(c.epoch(0) == 2);
}

TEST_CASE("a node whose peers never come takes every partition after three leases", "[cluster]") {
  cluster_db c;
  auto a = clustered("node-a", 1);
  REQUIRE_FALSE(join_cluster(c.conn, a, three_nodes));
  CHECK(c.owned_by("node-a") == 3);
  c.conn.exec("UPDATE cluster_nodes SET started_at = now() - interval '10 seconds'");
  CHECK(renew_leases(c.conn, a, three_nodes).claimed == 5);
  CHECK(c.owned_by("node-a") == 8);
}

TEST_CASE("a stalled node's open transaction holds up no renewal of the others", "[cluster]") {
  cluster_db c;
  auto a = clustered("node-a", 1), b = clustered("node-b", 2);
  REQUIRE_FALSE(join_cluster(c.conn, a, three_nodes));
  REQUIRE_FALSE(join_cluster(c.conn, b, three_nodes));
  pg_connection stalled{c.db.url};
  stalled.run("BEGIN");
  fence(stalled, a); // node-a stops mid-transaction, holding its row
  c.conn.exec("UPDATE partition_leases SET expires_at = now() - interval '1 second' "
              "WHERE owner = 'node-a'");
  auto started = std::chrono::steady_clock::now();
  auto r = renew_leases(c.conn, b, three_nodes);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK_FALSE(r.superseded);
  CHECK_THAT(r.takeover_error, Catch::Contains("lock timeout"));
  CHECK(c.owned_by("node-b") == 3); // its own leases were renewed all the same
  stalled.run("ROLLBACK");          // the database ended it (idle_in_transaction_session_timeout)
  auto again = renew_leases(c.conn, b, three_nodes);
  CHECK(again.takeover_error.empty());
  CHECK(again.expelled == 1);
  CHECK(c.owned_by("node-b") == 6);
}
