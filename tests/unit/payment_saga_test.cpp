// The payment saga's steps and compensations, driven by scripted fakes on the
// test coordinator (no database, no waiting: timeouts and backoffs are moved
// past with the test clock).
//
// Approach: the saga talks to its entities only through messages, so each
// fake answers from a script (tests/unit/fakes.hpp) and counts the requests.
// The saga's own db tasks are what the fake db cannot run: it answers `ok`
// without running `work`, so `finish` sees its default `bool` and
// `record_compensating` sees an empty `std::optional<payment_view>` -- "no
// payment was recorded", which is exactly the branch that compensates. The
// other branch (a confirmation whose reply was lost but which committed)
// needs a row in the database and stays with the integration tests.
#include <catch2/catch.hpp>

#include "actors/payment_saga_actor.hpp"
#include "fakes.hpp"

using namespace boxoffice;

namespace {

constexpr auto longest_backoff = std::chrono::seconds(10); // payment_saga.cpp's max_retry

struct payment_saga_fixture : testing::fakes_fixture {
  storage::saga_row row{5, "PAYMENT", 9, 42, 100, saga_state::running, "BEGIN", ""};

  void start_saga() {
    client->send(track(sys.spawn(payment_saga_actor_impl, row, saga_ctx())), pay_atom_v);
    run();
  }

  caf::expected<payment_view> answer() { return reply<payment_view>(); }
};

} // namespace

TEST_CASE_METHOD(payment_saga_fixture,
                 "payment: reserve, debit, sell and confirm answer the payment") {
  start_saga();
  auto paid = answer();
  REQUIRE(paid);
  CHECK(paid->reservation_id == 9);
  CHECK(paid->amount == 100);
  CHECK(reservation_calls->pay.calls == 1);
  CHECK(wallet_calls->debit.calls == 1);
  CHECK(schedule_calls->sell.calls == 1);
  CHECK(reservation_calls->confirm.calls == 1);
  CHECK(wallet_calls->refund.calls == 0);
  CHECK(reservation_calls->unpay.calls == 0);
  // The confirmation's own transaction ends the saga row: no write of its own.
  CHECK(db_calls->task.calls == 0);
}

TEST_CASE_METHOD(payment_saga_fixture,
                 "payment: a refused reservation fails without touching money") {
  reservation_calls->pay.fail(testing::refused("not HELD"));
  start_saga();
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::wrong_state));
  CHECK(wallet_calls->debit.calls == 0);
  CHECK(reservation_calls->unpay.calls == 0); // refused: nothing to undo
  CHECK(db_calls->task.calls == 1);           // FAILED recorded
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: too few points unpays and refunds nothing") {
  wallet_calls->debit.fail(make_error(booking_errc::insufficient_balance, "too few points"));
  start_saga();
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::insufficient_balance));
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(wallet_calls->refund.calls == 0);
  CHECK(schedule_calls->sell.calls == 0);
  CHECK(db_calls->task.calls == 1); // COMPENSATED recorded, no COMPENSATING step
}

TEST_CASE_METHOD(payment_saga_fixture,
                 "payment: a failed sale after the debit refunds, then unpays") {
  schedule_calls->sell.fail(make_error(booking_errc::seat_unavailable, "sold elsewhere"));
  start_saga();
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::seat_unavailable)); // the cause, not the compensation
  CHECK(wallet_calls->debit.calls == 1);
  CHECK(wallet_calls->refund.calls == 1);
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(reservation_calls->confirm.calls == 0);
  CHECK(db_calls->task.calls == 2); // COMPENSATING, then COMPENSATED
}

TEST_CASE_METHOD(payment_saga_fixture,
                 "payment: a failed confirmation asks the database before refunding") {
  reservation_calls->confirm.fail(make_error(booking_errc::storage_failure, "reply lost"));
  // The question itself fails once: nothing may be undone until it is answered.
  db_calls->task.fail(make_error(booking_errc::storage_failure, "database down"), 1);
  start_saga();
  CHECK(db_calls->task.calls == 1);
  CHECK(wallet_calls->refund.calls == 0);
  CHECK(no_reply_yet());
  advance(longest_backoff);
  CHECK(db_calls->task.calls == 3); // asked again (no payment found), then COMPENSATED
  CHECK(wallet_calls->refund.calls == 1);
  CHECK(reservation_calls->unpay.calls == 1);
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::storage_failure));
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: a reservation that never answers is unpaid") {
  reservation_calls->pay.silent = true;
  start_saga();
  CHECK(no_reply_yet());
  advance(saga_step_timeout + std::chrono::seconds(1));
  // A timed-out request may still have marked it PAYING: undone, no money moved.
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(wallet_calls->debit.calls == 0);
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(paid.error() == caf::sec::request_timeout);
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: a debit that never answers is refunded") {
  wallet_calls->debit.silent = true;
  start_saga();
  CHECK(no_reply_yet());
  advance(saga_step_timeout + std::chrono::seconds(1));
  // Whether the debit committed is unknown: the refund (idempotent) decides.
  CHECK(wallet_calls->refund.calls == 1);
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(schedule_calls->sell.calls == 0);
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(paid.error() == caf::sec::request_timeout);
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: a failing refund is retried and never abandoned") {
  schedule_calls->sell.fail(make_error(booking_errc::seat_unavailable, "sold elsewhere"));
  wallet_calls->refund.fail(make_error(booking_errc::storage_failure, "wallet down"));
  start_saga();
  for (int i = 0; i < 20; ++i) // 20 backoffs, over two minutes of test time
    advance(longest_backoff);
  CHECK(wallet_calls->refund.calls == 21);
  CHECK(reservation_calls->unpay.calls == 0); // reverse order: the refund first
  CHECK(no_reply_yet());
  wallet_calls->refund.failures = 0; // the wallet recovers
  advance(longest_backoff);
  CHECK(wallet_calls->refund.calls == 22);
  CHECK(reservation_calls->unpay.calls == 1);
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::seat_unavailable));
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: a failing unpay and a failing end are retried") {
  wallet_calls->debit.fail(make_error(booking_errc::insufficient_balance, "too few points"));
  reservation_calls->unpay.fail(make_error(booking_errc::storage_failure, "down"), 2);
  db_calls->task.fail(make_error(booking_errc::storage_failure, "database down"), 1);
  start_saga();
  CHECK(reservation_calls->unpay.calls == 1);
  for (int i = 0; i < 3; ++i) {
    CHECK(no_reply_yet());
    advance(longest_backoff);
  }
  CHECK(reservation_calls->unpay.calls == 3);
  CHECK(db_calls->task.calls == 2); // the end failed once, then committed
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::insufficient_balance));
}

TEST_CASE_METHOD(payment_saga_fixture,
                 "payment: an unpay refused as not ours still ends the saga") {
  wallet_calls->debit.fail(make_error(booking_errc::insufficient_balance, "too few points"));
  reservation_calls->unpay.fail(testing::refused("another saga's"));
  start_saga();
  CHECK(reservation_calls->unpay.calls == 1); // no retry
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::insufficient_balance));
}

TEST_CASE_METHOD(payment_saga_fixture, "payment: a resumed COMPENSATING saga refunds and unpays") {
  row.state = saga_state::compensating;
  reservation_calls->view.status = reservation_status::paying;
  reservation_calls->view.saga_id = row.id;
  start_saga();
  CHECK(reservation_calls->get.calls == 1);
  CHECK(reservation_calls->pay.calls == 0); // no step forward is run again
  CHECK(wallet_calls->debit.calls == 0);
  CHECK(wallet_calls->refund.calls == 1);
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(db_calls->task.calls == 1); // COMPENSATED recorded
  auto paid = answer();
  REQUIRE_FALSE(paid);
  CHECK(is(paid.error(), booking_errc::storage_failure)); // "interrupted before it finished"
}
