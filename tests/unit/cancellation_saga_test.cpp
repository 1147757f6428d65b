// The cancellation saga: one step (the reservation's refund transaction),
// retried until it commits, ended without retry when the reservation says
// there is nothing to cancel. Scripted fakes on the test coordinator; the
// saga writes nothing to the database itself (the reservation's refund
// transaction ends the saga row), so no db task is involved.
#include <catch2/catch.hpp>

#include "actors/cancellation_saga_actor.hpp"
#include "fakes.hpp"

using namespace boxoffice;

namespace {

constexpr auto longest_backoff = std::chrono::seconds(10); // cancellation_saga.cpp's max_retry

struct cancellation_saga_fixture : testing::fakes_fixture {
  storage::saga_row row{6, "CANCELLATION", 9, 42, 100, saga_state::running, "BEGIN", ""};

  void start_saga() {
    client->send(track(sys.spawn(cancellation_saga_actor_impl, row, saga_ctx())), cancel_atom_v);
    run();
  }

  caf::expected<reservation_view> answer() { return reply<reservation_view>(); }
};

} // namespace

TEST_CASE_METHOD(cancellation_saga_fixture,
                 "cancellation: refunds, refreshes the wallet, answers") {
  start_saga();
  auto cancelled = answer();
  REQUIRE(cancelled);
  CHECK(cancelled->status == reservation_status::cancelled);
  CHECK(reservation_calls->refund.calls == 1);
  CHECK(wallet_calls->load.calls == 1); // the wallet re-reads the refund it did not write
  CHECK(db_calls->task.calls == 0);
}

TEST_CASE_METHOD(cancellation_saga_fixture,
                 "cancellation: a failing refund is retried until it commits") {
  reservation_calls->refund.fail(make_error(booking_errc::storage_failure, "down"), 3);
  start_saga();
  for (int i = 0; i < 3; ++i) {
    CHECK(no_reply_yet());
    CHECK(reservation_calls->refund.calls == i + 1);
    advance(longest_backoff);
  }
  CHECK(reservation_calls->refund.calls == 4);
  auto cancelled = answer();
  REQUIRE(cancelled);
  CHECK(cancelled->status == reservation_status::cancelled);
}

TEST_CASE_METHOD(cancellation_saga_fixture,
                 "cancellation: a refund that never answers is retried") {
  reservation_calls->refund.silent = true;
  start_saga();
  advance(saga_step_timeout + std::chrono::seconds(1));
  CHECK(no_reply_yet());
  reservation_calls->refund.silent = false;
  advance(longest_backoff);
  CHECK(reservation_calls->refund.calls == 2);
  auto cancelled = answer();
  CHECK(cancelled);
}

TEST_CASE_METHOD(cancellation_saga_fixture, "cancellation: a failing registry lookup is retried") {
  reservation_calls->lookup.fail(make_error(booking_errc::storage_failure, "load failed"), 1);
  start_saga();
  CHECK(reservation_calls->refund.calls == 0);
  CHECK(no_reply_yet());
  advance(longest_backoff);
  CHECK(reservation_calls->refund.calls == 1);
  CHECK(answer());
}

TEST_CASE_METHOD(cancellation_saga_fixture, "cancellation: wrong_state ends it without a retry") {
  reservation_calls->refund.fail(testing::refused("not CONFIRMED"));
  start_saga();
  auto cancelled = answer();
  REQUIRE_FALSE(cancelled);
  CHECK(is(cancelled.error(), booking_errc::wrong_state));
  advance(longest_backoff);
  CHECK(reservation_calls->refund.calls == 1);
  CHECK(wallet_calls->load.calls == 0);
}

TEST_CASE_METHOD(cancellation_saga_fixture,
                 "cancellation: a wallet that cannot re-read does not block the answer") {
  wallet_calls->load.fail(make_error(booking_errc::storage_failure, "down"));
  start_saga();
  CHECK(answer());
  CHECK(wallet_calls->load.calls == 1);
}
