#include <catch2/catch.hpp>

#include "pg_fixture.hpp"
#include "storage/booking_store.hpp"
#include "storage/db_pool.hpp"
#include "storage/demo_seed.hpp"
#include "storage/migrations.hpp"
#include "task_waiter.hpp"

using namespace boxoffice;
using namespace boxoffice::storage;

TEST_CASE("migrations apply once and record their versions") {
  testing::fresh_database db;
  pg_connection conn{db.url};
  auto& all = embedded_migrations();
  REQUIRE(all.size() >= 3);
  CHECK(apply_migrations(conn, all) == static_cast<int>(all.size()));
  CHECK(apply_migrations(conn, all) == 0);
  CHECK(conn.exec("SELECT count(*) FROM schema_migrations").int64(0, 0) ==
        static_cast<int64_t>(all.size()));
}

TEST_CASE("a failing migration leaves nothing behind") {
  testing::fresh_database db;
  pg_connection conn{db.url};
  std::vector<migration> broken = {{"001_ok.sql", "CREATE TABLE a (x INT)"},
                                   {"002_bad.sql", "CREATE TABLE b (x INT); SELECT nope"}};
  CHECK_THROWS_AS(apply_migrations(conn, broken), pg_error);
  CHECK(conn.exec("SELECT to_regclass('b') IS NULL").boolean(0, 0));
  CHECK(conn.exec("SELECT count(*) FROM schema_migrations").int64(0, 0) == 1);
}

TEST_CASE("demo data loads only into an empty catalogue") {
  testing::fresh_database db;
  pg_connection conn{db.url};
  apply_migrations(conn, embedded_migrations());
  CHECK(seed_demo_catalogue(conn, 50));
  CHECK_FALSE(seed_demo_catalogue(conn, 50));
  CHECK(conn.exec("SELECT count(*) FROM seats").int64(0, 0) == 3 * 3 * 50);
}

TEST_CASE("group commit: a failing task rolls back alone") {
  testing::fresh_database db;
  {
    pg_connection conn{db.url};
    conn.run("CREATE TABLE t (x INT PRIMARY KEY)");
  }
  db_pool pool{db.url, 1, 64};
  testing::task_waiter w;
  std::vector<db_task_ptr> tasks;
  for (int i = 0; i < 50; ++i)
    tasks.push_back(w.make([i](pg_connection& c) {
      // Task 7 collides with task 3: only it must fail.
      c.exec("INSERT INTO t VALUES ($1)", params(i == 7 ? 3 : i));
    }));
  for (auto& t : tasks)
    pool.submit(t);
  REQUIRE(w.wait());
  for (int i = 0; i < 50; ++i)
    CHECK(tasks[i]->ok == (i != 7));
  CHECK(tasks[7]->sqlstate == "23505");
  pg_connection conn{db.url};
  CHECK(conn.exec("SELECT count(*) FROM t").int64(0, 0) == 49);
  auto s = pool.stats();
  CHECK(s.commits < 50); // tasks shared commits
  CHECK(s.executed == 50);
}

TEST_CASE("a committed task carries the outbox rows it wrote; a rolled-back one none") {
  testing::fresh_database db;
  {
    pg_connection conn{db.url};
    apply_migrations(conn, embedded_migrations());
    seed_demo_catalogue(conn, 10);
  }
  db_pool pool{db.url, 1, 64};
  testing::task_waiter w;
  int64_t held = 0;
  auto kept = w.make([&held](pg_connection& c) {
    held = insert_hold(c, {1, 1, 1}, 5000, 300, 10, {}).reservation.id;
  });
  auto undone = w.make([](pg_connection& c) {
    insert_hold(c, {2, 1, 2}, 5000, 300, 10, {});
    throw std::runtime_error("changed its mind");
  });
  pool.submit(kept);
  pool.submit(undone);
  REQUIRE(w.wait());
  REQUIRE(kept->ok);
  REQUIRE(kept->events.size() == 1);
  auto& row = kept->events.front();
  pg_connection conn{db.url};
  auto stored = conn.exec("SELECT id, aggregate_type || '/' || aggregate_id, sequence, payload "
                          "FROM outbox WHERE event_id = $1",
                          params(row.event_id));
  REQUIRE(stored.size() == 1);
  CHECK(row.id == stored.int64(0, 0));
  CHECK(row.aggregate == "reservation/" + std::to_string(held));
  CHECK(row.aggregate == stored.text(0, 1));
  CHECK(row.sequence == stored.int64(0, 2));
  CHECK(row.payload == stored.text(0, 3));
  CHECK(row.event_type == "RESERVATION_HELD");
  CHECK_FALSE(undone->ok);
  CHECK(undone->events.empty());
  CHECK(conn.exec("SELECT count(*) FROM outbox").int64(0, 0) == 1);
}

TEST_CASE("a stopped pool fails new work instead of hanging") {
  testing::fresh_database db;
  db_pool pool{db.url, 2, 8};
  pool.stop();
  testing::task_waiter w;
  auto t = w.make([](pg_connection&) {});
  pool.submit(t);
  REQUIRE(w.wait());
  CHECK_FALSE(t->ok);
}

TEST_CASE("an unreachable database is reported, not waited for") {
  CHECK_THROWS_AS(pg_connection{"host=127.0.0.1 port=1 user=x connect_timeout=2"}, pg_error);
}

TEST_CASE("statements are prepared once per session, and a bounded number of them") {
  testing::fresh_database db;
  pg_connection conn{db.url};
  CHECK(conn.exec("SELECT $1::int + 1", params(41)).int64(0, 0) == 42);
  CHECK(conn.exec("SELECT $1::int + 1", params(1)).int64(0, 0) == 2);
  CHECK(conn.prepared_statements() == 1);
  // A failed transaction neither loses nor breaks what was prepared.
  conn.run("BEGIN");
  CHECK_THROWS_AS(conn.exec("SELECT 1 / $1::int", params(0)), pg_error);
  CHECK_THROWS_AS(conn.exec("SELECT $1::int + 1", params(1)), pg_error); // aborted transaction
  conn.run("ROLLBACK");
  CHECK(conn.exec("SELECT $1::int + 1", params(2)).int64(0, 0) == 3);
  // Statements built from varying text stop being prepared at the cap.
  for (int i = 0; i < 300; ++i)
    CHECK(conn.exec("SELECT " + std::to_string(i) + " + $1::int", params(1)).int64(0, 0) == i + 1);
  CHECK(conn.prepared_statements() == 256);
}
