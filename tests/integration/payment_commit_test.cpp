// A payment in one transaction (storage::pay_booking) on a real PostgreSQL:
// everything or nothing, events built from memory equal to the ones built by
// query, a rerun after a lost COMMIT pays once, and an unknown outcome is
// settled by the row.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "http/api/payment_answer.hpp"
#include "pg_fixture.hpp"
#include "storage/booking_store.hpp"
#include "storage/catalogue_store.hpp"
#include "storage/demo_seed.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox_store.hpp"
#include "storage/payment_commit.hpp"

using namespace boxoffice;
using namespace boxoffice::storage;

namespace {

struct payment_db {
  testing::fresh_database db;
  pg_connection conn{db.url};
  schedule_facts facts;

  payment_db() {
    apply_migrations(conn, embedded_migrations());
    seed_demo_catalogue(conn, 10);
    facts = load_schedule(conn, 1)->facts;
  }

  int64_t count(const std::string& sql) { return conn.exec(sql).int64(0, 0); }

  reservation_view hold(int64_t user, int32_t seat, int64_t points) {
    charge_wallet(conn, user, points, "seed-" + std::to_string(user) + "-" + std::to_string(seat));
    auto h = insert_hold(conn, {user, 1, seat}, 5000, 300, 10, facts);
    REQUIRE(h.outcome == hold_outcome::held);
    return h.reservation;
  }

  booking_payment booking(const reservation_view& r, std::string key = "key-1") {
    return {r, facts, std::move(key), "hash-1"};
  }

  // Runs one payment in its own transaction.
  paid_booking pay(const booking_payment& b) {
    conn.run("BEGIN");
    auto out = pay_booking(conn, b, http::payment_answer);
    conn.run("COMMIT");
    return out;
  }

  nlohmann::json payload(const std::string& type) {
    auto rows = conn.exec("SELECT payload FROM outbox WHERE event_type = $1", params(type));
    REQUIRE(rows.size() == 1);
    return nlohmann::json::parse(rows.text(0, 0));
  }
};

} // namespace

TEST_CASE("a payment in one transaction writes the whole booking") {
  payment_db p;
  auto r = p.hold(7, 3, 20000);
  auto out = p.pay(p.booking(r));
  REQUIRE(out.paid);
  CHECK(out.balance == 15000);
  CHECK(out.payment.amount == 5000);
  CHECK(out.payment.status == "COMPLETED");
  CHECK(load_reservation(p.conn, r.id)->status == reservation_status::confirmed);
  CHECK(load_reservation(p.conn, r.id)->saga_id == out.saga_id);
  CHECK(wallet_balance(p.conn, 7) == 15000);
  CHECK(p.count("SELECT count(*) FROM wallet_ledger WHERE kind = 'PAYMENT' AND amount = -5000 "
                "AND balance = 15000 AND saga_id = " +
                std::to_string(out.saga_id)) == 1);
  CHECK(p.count("SELECT count(*) FROM sagas WHERE state = 'COMPLETED' AND kind = 'PAYMENT' "
                "AND idempotency_key = 'key-1'") == 1);
  // The key's stored answer is the answer a replay gets.
  auto stored = find_idempotency_key(p.conn, 7, "key-1", "hash-1");
  REQUIRE(stored);
  CHECK(stored->outcome == key_claim::replay);
  CHECK(stored->stored.body == http::payment_answer(out.payment).body);
  CHECK(*payment_of(p.conn, r.id) == out.payment);
}

TEST_CASE("the payment's events from memory equal the events built by query") {
  payment_db p;
  auto r = p.hold(7, 4, 20000);
  auto out = p.pay(p.booking(r));
  REQUIRE(out.paid);
  auto reservation = p.payload("RESERVATION_CONFIRMED");
  auto order = p.payload("ORDER_COMPLETED");
  CHECK(reservation["data"] == reservation_event_data(p.conn, r.id));
  CHECK(p.payload("RESERVATION_HELD")["data"]["reservedAt"] ==
        reservation_event_data(p.conn, r.id)["reservedAt"]);
  CHECK(order["data"] == order_event_data(p.conn, out.payment.id));
  // Sequences continue the reservation's (HELD was 1) and start the order's.
  CHECK(reservation["sequence"] == 2);
  CHECK(order["sequence"] == 1);
  CHECK(p.count("SELECT event_seq FROM reservations WHERE id = " + std::to_string(r.id)) == 2);
  CHECK(p.count("SELECT event_seq FROM payments WHERE id = " + std::to_string(out.payment.id)) ==
        1);
}

TEST_CASE("a hold's event from memory equals the event built by query") {
  payment_db p;
  auto r = p.hold(7, 5, 20000);
  auto held = p.payload("RESERVATION_HELD");
  CHECK(held["data"] == reservation_event_data(p.conn, r.id));
  CHECK(held["sequence"] == 1);
  CHECK(p.count("SELECT event_seq FROM reservations WHERE id = " + std::to_string(r.id)) == 1);
}

TEST_CASE("a hold within the user's cap, then refused at it") {
  payment_db p;
  CHECK(insert_hold(p.conn, {7, 1, 1}, 5000, 300, 2, p.facts).outcome == hold_outcome::held);
  CHECK(insert_hold(p.conn, {7, 1, 1}, 5000, 300, 2, p.facts).outcome == hold_outcome::seat_taken);
  CHECK(insert_hold(p.conn, {7, 1, 2}, 5000, 300, 2, p.facts).outcome == hold_outcome::held);
  CHECK(insert_hold(p.conn, {7, 1, 3}, 5000, 300, 2, p.facts).outcome == hold_outcome::user_limit);
  CHECK(p.count("SELECT count(*) FROM reservations") == 2);
  CHECK(p.count("SELECT count(*) FROM outbox WHERE event_type = 'RESERVATION_HELD'") == 2);
}

TEST_CASE("a payment that does not fit in one transaction writes nothing") {
  payment_db p;
  auto before = [&p] {
    return p.count("SELECT (SELECT count(*) FROM payments) + (SELECT count(*) FROM sagas) + "
                   "(SELECT count(*) FROM outbox) + (SELECT count(*) FROM wallet_ledger) + "
                   "(SELECT count(*) FROM idempotency_keys)");
  };
  SECTION("too few points") {
    auto r = p.hold(7, 3, 4999);
    auto n = before();
    CHECK_FALSE(p.pay(p.booking(r)).paid);
    CHECK(before() == n);
    CHECK(wallet_balance(p.conn, 7) == 4999);
    CHECK(load_reservation(p.conn, r.id)->status == reservation_status::held);
  }
  SECTION("a key this user used before") {
    auto r = p.hold(7, 3, 20000);
    claim_idempotency_key(p.conn, 7, "key-1", "other-hash");
    auto n = before();
    CHECK_FALSE(p.pay(p.booking(r)).paid);
    CHECK(before() == n);
    CHECK(wallet_balance(p.conn, 7) == 20000);
  }
  SECTION("a hold that expired in the database") {
    auto r = p.hold(7, 3, 20000);
    p.conn.run("UPDATE reservations SET expires_at = now() - interval '1 second'");
    CHECK_FALSE(p.pay(p.booking(r)).paid);
    CHECK(wallet_balance(p.conn, 7) == 20000);
  }
  SECTION("another user's reservation or another price") {
    auto r = p.hold(7, 3, 20000);
    p.hold(8, 4, 20000);
    auto foreign = r;
    foreign.user_id = 8;
    CHECK_FALSE(p.pay(p.booking(foreign)).paid);
    auto cheaper = r;
    cheaper.price = 1;
    CHECK_FALSE(p.pay(p.booking(cheaper)).paid);
    CHECK(wallet_balance(p.conn, 7) == 20000);
    CHECK(wallet_balance(p.conn, 8) == 20000);
  }
}

TEST_CASE("a rerun of a committed payment pays once and reports the same payment") {
  payment_db p;
  auto r = p.hold(7, 3, 20000);
  auto first = p.pay(p.booking(r));
  REQUIRE(first.paid);
  // The pool reruns a task whose COMMIT reply was lost: it must find its own
  // payment instead of refusing or paying again.
  auto again = p.pay(p.booking(r));
  REQUIRE(again.paid);
  CHECK(again.payment == first.payment);
  CHECK(again.saga_id == first.saga_id);
  CHECK(again.balance == 15000);
  CHECK(wallet_balance(p.conn, 7) == 15000);
  CHECK(p.count("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_COMPLETED'") == 1);
}

TEST_CASE("an unknown outcome is settled by the reservation's row") {
  payment_db p;
  auto r = p.hold(7, 3, 20000);
  CHECK_FALSE(committed_payment(p.conn, r.id, 7));
  auto out = p.pay(p.booking(r, ""));
  REQUIRE(out.paid);
  auto settled = committed_payment(p.conn, r.id, 7);
  REQUIRE(settled);
  CHECK(settled->payment == out.payment);
  CHECK(settled->saga_id == out.saga_id);
  CHECK(p.count("SELECT count(*) FROM idempotency_keys") == 0); // no key, none stored
}
