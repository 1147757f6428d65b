// The reservation actor's hold expiry on the test clock: armed from
// expires_at, submitted to the database when due, never while PAYING, re-armed
// with a new generation so stale timers do nothing.
//
// The fake db answers `ok` without running the task, so `expire_hold`'s result
// arrives as `false` ("the database clock is not there yet"): the actor looks
// again 100 ms later. The `true` branch (EXPIRED, then the seat's release)
// needs the real UPDATE and stays with the integration tests; here the
// release must *not* be asked for, which is what is checked.
#include <catch2/catch.hpp>

#include "actors/reservation_actor.hpp"
#include "fakes.hpp"
#include "util/clock.hpp"

using namespace boxoffice;

namespace {

constexpr auto hold_ttl = std::chrono::minutes(5);

struct reservation_fixture : testing::fakes_fixture {
  // The actor reads "now" through its clock: the test clock, which only moves
  // when the test advances it.
  reservation_actor hold(reservation_status status, int64_t saga_id = 0) {
    auto expires_at = epoch_ms_at(sched.clock().now()) + hold_ttl.count() * 60'000;
    reservation_view v{9, 42, 3, 7, 100, status, expires_at, saga_id};
    auto r = track(sys.spawn(reservation_actor_impl, v, db, catalogue, booking_config{}));
    run();
    return r;
  }
};

} // namespace

TEST_CASE_METHOD(reservation_fixture, "reservation: a HELD hold is expired at expires_at") {
  hold(reservation_status::held);
  advance(hold_ttl - std::chrono::seconds(30));
  CHECK(db_calls->task.calls == 0);
  advance(std::chrono::seconds(31));
  CHECK(db_calls->task.calls == 1); // expire_hold submitted
  // Not expired by the database (the fake's `false`): looks again shortly,
  // and frees no seat meanwhile.
  advance(std::chrono::milliseconds(100));
  CHECK(db_calls->task.calls == 2);
  CHECK(schedule_calls->release.calls == 0);
}

TEST_CASE_METHOD(reservation_fixture,
                 "reservation: a failed expiry is tried again a second later") {
  db_calls->task.fail(make_error(booking_errc::storage_failure, "database down"), 1);
  hold(reservation_status::held);
  advance(hold_ttl + std::chrono::seconds(1));
  CHECK(db_calls->task.calls == 1);
  advance(std::chrono::seconds(1));
  CHECK(db_calls->task.calls == 2);
}

TEST_CASE_METHOD(reservation_fixture, "reservation: a PAYING hold does not expire") {
  hold(reservation_status::paying, 5);
  advance(hold_ttl * 2);
  CHECK(db_calls->task.calls == 0);
}

TEST_CASE_METHOD(reservation_fixture,
                 "reservation: unpay re-arms the expiry, the old timer is stale") {
  auto r = hold(reservation_status::held);
  // A resumed compensation unpays a HELD reservation: it asks the database and re-arms.
  client->send(r, unpay_atom_v, int64_t{5});
  run();
  receive(
    client, [](reservation_view&) {}, [](caf::error&) { FAIL("unpay refused"); });
  CHECK(db_calls->task.calls == 1);
  // Both timers fire at expires_at; only the newer generation submits.
  advance(hold_ttl + std::chrono::seconds(1));
  CHECK(db_calls->task.calls == 2);
}

TEST_CASE_METHOD(reservation_fixture, "reservation: an expiry of a stale generation is ignored") {
  auto r = hold(reservation_status::held);
  caf::anon_send(r, expire_atom_v, uint64_t{0}); // before the first arming
  run();
  CHECK(db_calls->task.calls == 0);
  caf::anon_send(r, expire_atom_v, uint64_t{1}); // the live generation, early
  run();
  CHECK(db_calls->task.calls == 1);
}
