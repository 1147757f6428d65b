// The saga manager's payment in one transaction, driven by scripted fakes on
// the test coordinator: the happy path touches the reservation, the wallet's
// one transaction and the seat, and no saga; a refusal unlocks the
// reservation and hands the request to the saga path; an unknown outcome is
// asked of the database first; a concurrent retry is answered without
// claiming the Idempotency-Key.
//
// The fake db answers every task without running it (fakes.hpp), so the
// settling read finds "not committed" and the saga path's saga row comes
// back with id 0, which the manager answers as "in progress": enough to see
// which way the request went.
#include <catch2/catch.hpp>

#include "actors/active_tokens.hpp"
#include "actors/saga_manager_actor.hpp"
#include "actors/schedule_directory.hpp"
#include "fakes.hpp"

using namespace boxoffice;

namespace {

struct one_commit_fixture : testing::fakes_fixture {
  std::shared_ptr<active_tokens> passes = std::make_shared<active_tokens>();
  std::shared_ptr<schedule_directory> schedules = std::make_shared<schedule_directory>();
  saga_manager_actor manager;

  one_commit_fixture() {
    passes->add("tok-42", 42);
    auto board = std::make_shared<seat_board>(
      3, 1, std::vector<seat_board::seat>{{7, 100, seat_status::held}});
    board->describe({1, "Title", "Artist", "Venue", 3, "2027-01-01T20:00:00.000Z"});
    schedules->publish(3, {schedule, board});
    auto ctx = saga_ctx();
    ctx.payment_answer = [](const payment_view& p) {
      return api_answer{201, "paid " + std::to_string(p.id)};
    };
    ctx.passes = passes;
    ctx.schedules = schedules;
    manager = track(sys.spawn(saga_manager_actor_impl, ctx, waiting_room));
    run();
    db_calls->task.calls = 0; // the start-up sweep's read
  }

  void pay(std::string key = "", std::string token = "tok-42") {
    client->send(manager, pay_atom_v, payment_request{42, 9, std::move(key), std::move(token)},
                 std::string{"hash"});
    run();
  }

  caf::expected<api_answer> answer() { return reply<api_answer>(); }
};

} // namespace

TEST_CASE_METHOD(one_commit_fixture, "one commit: an active token pays without a saga") {
  pay("key-1");
  auto paid = answer();
  REQUIRE(paid);
  CHECK(paid->status == 201);
  CHECK(paid->body == "paid 77");
  CHECK(reservation_calls->pay.calls == 1); // PAYING in memory
  CHECK(wallet_calls->pay.calls == 1);      // the one transaction
  CHECK(schedule_calls->sell.calls == 1);   // the seat shows SOLD
  CHECK(wallet_calls->debit.calls == 0);    // no saga step
  CHECK(reservation_calls->confirm.calls == 0);
  CHECK(reservation_calls->unpay.calls == 0);
  CHECK(waiting_room_calls->check.calls == 0); // the token table decided
  CHECK(waiting_room_calls->leaves == 1);      // the visit ends
  CHECK(db_calls->task.calls == 0);            // only the wallet's transaction
}

TEST_CASE_METHOD(one_commit_fixture, "one commit: a refusal unlocks and takes the saga path") {
  wallet_calls->pay.fail(testing::refused("did not fit"));
  pay();
  auto out = answer();
  REQUIRE_FALSE(out);
  CHECK(reservation_calls->unpay.calls == 1);  // HELD again before the saga asks
  CHECK(waiting_room_calls->check.calls == 1); // the saga path's own checks ran
  CHECK(db_calls->task.calls == 1);            // the saga path creating its saga row
  CHECK(schedule_calls->sell.calls == 0);
}

TEST_CASE_METHOD(one_commit_fixture,
                 "one commit: an unknown outcome asks the database before giving up") {
  wallet_calls->pay.fail(make_error(booking_errc::storage_failure, "connection lost"));
  pay();
  auto out = answer();
  REQUIRE_FALSE(out);
  CHECK(db_calls->task.calls == 2); // the settling read (not committed), then the saga row
  CHECK(reservation_calls->unpay.calls == 1);
  CHECK(schedule_calls->sell.calls == 0);
}

TEST_CASE_METHOD(one_commit_fixture,
                 "one commit: a concurrent retry gets 409 without claiming the key") {
  wallet_calls->pay.silent = true; // the transaction runs on and on
  pay("key-1");
  CHECK(no_reply_yet());
  pay("key-1");
  auto again = answer();
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), booking_errc::idempotency_in_flight));
  pay("key-2");
  auto other = answer();
  REQUIRE_FALSE(other);
  CHECK(is(other.error(), booking_errc::wrong_state));
  CHECK(db_calls->task.calls == 0); // no key was claimed
}

TEST_CASE_METHOD(one_commit_fixture, "one commit: a token not in the table takes the saga path") {
  pay("", "tok-unknown");
  auto out = answer();
  REQUIRE_FALSE(out);
  CHECK(reservation_calls->pay.calls == 0); // never locked for one transaction
  CHECK(wallet_calls->pay.calls == 0);
  CHECK(waiting_room_calls->check.calls == 1);
}
