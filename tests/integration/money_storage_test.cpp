// The storage side of issue 8's money guards on a real PostgreSQL: late tasks
// never commit, a rerun after a lost COMMIT never charges twice, a booking is
// refunded once, and a reservation has one live saga.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "http/api/payment_answer.hpp"
#include "pg_fixture.hpp"
#include "storage/booking_store.hpp"
#include "storage/db_pool.hpp"
#include "storage/demo_seed.hpp"
#include "storage/migrations.hpp"
#include "task_waiter.hpp"

using namespace boxoffice;
using namespace boxoffice::storage;

namespace {

struct booking_db {
  testing::fresh_database db;
  pg_connection conn{db.url};

  booking_db() {
    apply_migrations(conn, embedded_migrations());
    seed_demo_catalogue(conn, 10);
  }

  int64_t count(const std::string& sql) { return conn.exec(sql).int64(0, 0); }

  // A confirmed booking of `user` paid by a completed payment saga.
  reservation_view confirmed_booking(int64_t user, int32_t seat) {
    conn.run("BEGIN");
    charge_wallet(conn, user, 100000, "seed-" + std::to_string(user) + "-" + std::to_string(seat));
    auto hold = insert_hold(conn, {user, 1, seat}, 5000, 300, 10, {});
    REQUIRE(hold.outcome == hold_outcome::held);
    auto r = hold.reservation;
    auto saga = create_saga(conn, "PAYMENT", r.id, user, r.price, "");
    REQUIRE(mark_paying(conn, r.id, saga));
    REQUIRE(debit_wallet(conn, user, saga, r.price).has_value());
    REQUIRE(confirm_payment(conn, r.id, saga, http::payment_answer).has_value());
    conn.run("COMMIT");
    return *load_reservation(conn, r.id);
  }
};

// Occupies the pool's only worker for a while, so the tasks submitted next
// queue up and are taken together as one batch.
void occupy_worker(db_pool& pool, testing::task_waiter& w) {
  pool.submit(w.make([](pg_connection& c) { c.run("SELECT pg_sleep(0.3)"); }));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.stats().queued > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(pool.stats().queued == 0);
}

} // namespace

TEST_CASE("a task whose caller timed out is failed before BEGIN, never run") {
  testing::fresh_database db;
  db_pool pool{db.url, 1, 64};
  testing::task_waiter w;
  std::atomic<bool> ran{false};
  auto late = w.make([&ran](pg_connection&) { ran = true; });
  late->deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  pool.submit(late);
  REQUIRE(w.wait());
  CHECK_FALSE(ran);
  CHECK_FALSE(late->ok);
  CHECK(late->error.find("timed out") != std::string::npos);
  CHECK(pool.stats().expired == 1);
}

TEST_CASE("in a batch only the late tasks are skipped") {
  testing::fresh_database db;
  {
    pg_connection c{db.url};
    c.run("CREATE TABLE t (x INT)");
  }
  db_pool pool{db.url, 1, 64};
  testing::task_waiter w;
  occupy_worker(pool, w);
  std::vector<db_task_ptr> tasks;
  for (int i = 0; i < 6; ++i) {
    auto t = w.make([i](pg_connection& c) { c.exec("INSERT INTO t VALUES ($1)", params(i)); });
    if (i % 2)
      t->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    tasks.push_back(t);
    pool.submit(t);
  }
  REQUIRE(w.wait());
  for (int i = 0; i < 6; ++i)
    CHECK(tasks[i]->ok == (i % 2 == 0));
  pg_connection c{db.url};
  CHECK(c.exec("SELECT string_agg(x::text, ',' ORDER BY x) FROM t").text(0, 0) == "0,2,4");
}

TEST_CASE("a batch rerun after a lost COMMIT does not charge twice") {
  booking_db b;
  db_pool pool{b.db.url, 1, 64};
  // The batch's COMMIT succeeds, but the pool is told the connection died
  // during it: the outcome is unknown and the pool reruns every task alone.
  std::atomic<int> commits{0};
  pool.set_after_commit_hook([&commits] {
    if (++commits == 2)
      throw pg_error("server closed the connection unexpectedly", "08006");
  });
  testing::task_waiter w;
  occupy_worker(pool, w);
  std::vector<db_task_ptr> charges;
  for (int i = 0; i < 3; ++i) {
    auto id = "charge-test-" + std::to_string(i);
    charges.push_back(w.make([id](pg_connection& c) { charge_wallet(c, 77, 100, id); }));
    pool.submit(charges.back());
  }
  REQUIRE(w.wait());
  REQUIRE(commits >= 3); // the batch ran, then its tasks reran alone
  for (auto& t : charges)
    CHECK(t->ok);
  CHECK(b.count("SELECT count(*) FROM wallet_ledger WHERE user_id = 77") == 3);
  CHECK(b.count("SELECT balance FROM wallets WHERE user_id = 77") == 300);
}

TEST_CASE("a paid booking is refunded once, whatever number of sagas cancel it") {
  booking_db b;
  auto r = b.confirmed_booking(5, 1);
  for (int i = 0; i < 3; ++i) {
    // Each cancellation saga is a new saga id: per-saga idempotency alone
    // would refund three times.
    b.conn.run("BEGIN");
    auto saga = create_saga(b.conn, "CANCELLATION", r.id, 5, r.price, "");
    auto out = refund_booking(b.conn, r.id, saga);
    b.conn.run("COMMIT");
    CHECK(out.refunded == (i == 0));
    REQUIRE(out.reservation.has_value());
    CHECK(out.reservation->status == reservation_status::cancelled);
    CHECK(b.count("SELECT count(*) FROM sagas WHERE id = " + std::to_string(saga) +
                  " AND state = 'COMPLETED'") == 1);
  }
  CHECK(b.count("SELECT count(*) FROM wallet_ledger WHERE kind = 'REFUND'") == 1);
  CHECK(b.count("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_REFUNDED'") == 1);
  CHECK(b.count("SELECT balance FROM wallets WHERE user_id = 5") == 100000);
  CHECK(b.count("SELECT count(*) FROM payments WHERE status = 'REFUNDED'") == 1);
}

TEST_CASE("a reservation has at most one live saga") {
  booking_db b;
  auto r = b.confirmed_booking(6, 2);
  auto first = create_saga(b.conn, "CANCELLATION", r.id, 6, r.price, "");
  try {
    create_saga(b.conn, "CANCELLATION", r.id, 6, r.price, "");
    FAIL("a second live saga was created");
  } catch (const pg_error& e) {
    CHECK(e.sqlstate() == "23505");
  }
  finish_saga(b.conn, first, saga_state::failed, "test");
  CHECK(create_saga(b.conn, "CANCELLATION", r.id, 6, r.price, "") > first);
}

TEST_CASE("a saga that ends without effect releases its Idempotency-Key, a completed one not") {
  booking_db b;
  b.conn.exec("INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES "
              "(8, 'k1', 'h'), (8, 'k2', 'h')");
  auto hold = insert_hold(b.conn, {8, 1, 3}, 5000, 300, 10, {});
  auto s1 = create_saga(b.conn, "PAYMENT", hold.reservation.id, 8, 5000, "k1");
  finish_saga(b.conn, s1, saga_state::compensated, "no points");
  auto s2 = create_saga(b.conn, "PAYMENT", hold.reservation.id, 8, 5000, "k2");
  finish_saga(b.conn, s2, saga_state::completed, "");
  CHECK(b.count("SELECT count(*) FROM idempotency_keys WHERE key = 'k1'") == 0);
  CHECK(b.count("SELECT count(*) FROM idempotency_keys WHERE key = 'k2'") == 1);
  // A finished saga stays finished.
  finish_saga(b.conn, s2, saga_state::failed, "late");
  CHECK(b.count("SELECT count(*) FROM sagas WHERE id = " + std::to_string(s2) +
                " AND state = 'COMPLETED'") == 1);
}

TEST_CASE("a payment saga that ended while its reservation stayed PAYING is reopened") {
  booking_db b;
  b.conn.run("BEGIN");
  charge_wallet(b.conn, 9, 100000, "seed-9");
  auto hold = insert_hold(b.conn, {9, 1, 4}, 5000, 300, 10, {});
  auto saga = create_saga(b.conn, "PAYMENT", hold.reservation.id, 9, 5000, "");
  REQUIRE(mark_paying(b.conn, hold.reservation.id, saga));
  REQUIRE(debit_wallet(b.conn, 9, saga, 5000).has_value());
  b.conn.run("COMMIT");
  // The old code's way out: FAILED with the points taken and the seat PAYING.
  b.conn.exec("UPDATE sagas SET state = 'FAILED' WHERE id = $1", params(saga));
  CHECK(reopen_stranded_sagas(b.conn) == 1);
  auto rows = unfinished_sagas(b.conn, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == saga);
  CHECK(rows[0].state == saga_state::compensating);
  // Reopened once: a second sweep finds nothing more to do.
  CHECK(reopen_stranded_sagas(b.conn) == 0);
}

TEST_CASE("a queue token's owner is known in any state") {
  booking_db b;
  b.conn.exec("INSERT INTO queue_tokens (token, user_id, status) VALUES ('tok', 11, 'EXPIRED')");
  CHECK(token_owner(b.conn, "tok") == std::optional<int64_t>{11});
  CHECK_FALSE(token_owner(b.conn, "nope").has_value());
}
