// The waiting room's tick on the test clock: admissions per tick, waiters
// who stopped polling passed over in place, idle expiry and a failed
// snapshot save.
//
// Tokens come from the database (the fake db cannot issue one), so each test
// seats its waiters in the actor's state directly, between run() calls: the
// test coordinator runs the actor on this thread only then.
#include <catch2/catch.hpp>

#include "actors/waiting_room_actor.hpp"
#include "fakes.hpp"

using namespace boxoffice;

namespace {

constexpr auto tick = std::chrono::milliseconds(100);

struct waiting_room_fixture : testing::fakes_fixture {
  booking_config cfg;
  std::shared_ptr<active_tokens> passes = std::make_shared<active_tokens>();
  waiting_room_actor room;

  void start() {
    room = track(sys.spawn(waiting_room_actor_impl, db, cfg, passes));
    run(); // loads (nothing, from the fake db) and ticks once
  }

  // In steps of one tick: advance_time fires a timer once however far it
  // jumps, and the next tick is armed from there.
  void advance_ticks(std::chrono::milliseconds d) {
    for (auto done = std::chrono::milliseconds(0); done < d; done += tick)
      advance(tick);
  }

  waiting_room_state& state() {
    auto* self = caf::actor_cast<caf::abstract_actor*>(room);
    return dynamic_cast<caf::stateful_actor<waiting_room_state, waiting_room_actor::base>&>(*self)
      .state;
  }

  // What adopting a stored WAITING row does.
  void seat_waiters(int64_t count) {
    auto& st = state();
    for (int64_t place = 1; place <= count; ++place) {
      auto token = "t" + std::to_string(place);
      st.tokens.emplace(token,
                        queue_entry{100 + place, place, token_status::waiting, 0, st.now_ms()});
      st.token_of_user[100 + place] = token;
      st.line.join(place, token);
    }
  }

  token_status status_of(int64_t place) {
    return state().tokens.at("t" + std::to_string(place)).status;
  }

  int64_t admitted() {
    int64_t n = 0;
    for (auto& [token, e] : state().tokens)
      n += e.status == token_status::active;
    return n;
  }

  queue_ticket poll(int64_t place) {
    queue_ticket out;
    client->send(room, poll_atom_v, "t" + std::to_string(place));
    run();
    receive(
      client, [&](queue_ticket& t) { out = t; }, [](caf::error&) { FAIL("poll refused"); });
    return out;
  }

  caf::settings status() {
    caf::settings out;
    client->send(room, status_atom_v);
    run();
    receive(
      client, [&](caf::settings& s) { out = s; }, [](caf::error&) { FAIL("status refused"); });
    return out;
  }

  // Opens a door kept shut (max_active 0) while time passed.
  void open_door() { state().cfg.max_active = 1000; }
};

} // namespace

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: each tick admits the next waiters, up to max_active") {
  cfg.admit_per_second = 50; // 5 per 100 ms tick
  cfg.max_active = 12;
  start();
  seat_waiters(20);
  advance(tick);
  CHECK(admitted() == 5);
  CHECK(status_of(5) == token_status::active); // the longest waiters first
  CHECK(status_of(6) == token_status::waiting);
  CHECK(poll(6).position == 1);
  advance(tick);
  CHECK(admitted() == 10);
  advance(tick);
  CHECK(admitted() == 12); // max_active reached
  advance_ticks(std::chrono::seconds(1));
  CHECK(admitted() == 12);
  CHECK(status_of(13) == token_status::waiting);
}

TEST_CASE_METHOD(waiting_room_fixture, "waiting room: a waiter not seen within the TTL expires") {
  cfg.max_active = 0; // nobody is admitted: only expiry changes anything
  cfg.active_ttl_seconds = 2;
  start();
  seat_waiters(2);
  advance_ticks(std::chrono::milliseconds(1500));
  poll(2);                                        // seen: its TTL starts again
  advance_ticks(std::chrono::milliseconds(1500)); // the once-a-second pass at 2.9 s
  CHECK(status_of(1) == token_status::expired);
  CHECK(status_of(2) == token_status::waiting);
  CHECK(state().line.size() == 1);
  advance_ticks(std::chrono::seconds(1)); // 2.4 s after it was seen
  CHECK(status_of(2) == token_status::expired);
  CHECK(state().line.empty());
}

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: a failed snapshot save keeps its rows and is tried again") {
  cfg.admit_per_second = 50;
  start();
  seat_waiters(3);
  auto calls = db_calls->task.calls;
  db_calls->task.fail(make_error(booking_errc::storage_failure, "database down"), 1);
  advance(tick); // admits three and fails to store them
  CHECK(db_calls->task.calls == calls + 1);
  CHECK(state().save_failures == 1);
  CHECK(state().dirty.size() == 3);
  CHECK(state().saving.empty());
  CHECK(admitted() == 3); // memory keeps the admissions
  advance(tick);
  CHECK(db_calls->task.calls == calls + 2);
  CHECK(state().dirty.empty());
  CHECK(state().saving.empty());
}

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: active tokens are published, and uses seen there keep them alive") {
  cfg.admit_per_second = 50;
  cfg.active_ttl_seconds = 2;
  start();
  seat_waiters(7);
  CHECK_FALSE(passes->admits("t1", 0, state().now_ms())); // still waiting: the room decides
  advance(tick);                                          // admits t1..t5
  CHECK(passes->size() == 5);
  CHECK(passes->admits("t1", 101, state().now_ms()));
  CHECK_FALSE(passes->admits("t1", 102, state().now_ms())); // another user's token
  CHECK_FALSE(passes->admits("t6", 0, state().now_ms()));
  // t1 is used by request handlers every half second; t2 is never used.
  for (int i = 0; i < 6; ++i) {
    advance_ticks(std::chrono::milliseconds(500));
    passes->admits("t1", 0, state().now_ms());
  }
  CHECK(status_of(1) == token_status::active);
  CHECK(status_of(2) == token_status::expired);
  CHECK(passes->admits("t1", 0, state().now_ms()));
  CHECK_FALSE(passes->admits("t2", 0, state().now_ms())); // withdrawn with its expiry
}

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: a waiter who stopped polling is passed over in place until "
                 "polling again") {
  cfg.poll_grace_seconds = 2;
  cfg.max_active = 0; // nobody is admitted while the grace passes
  start();
  seat_waiters(2);
  for (int i = 0; i < 5; ++i) { // 2.5 s: t2 polls every half second, t1 never
    advance_ticks(std::chrono::milliseconds(500));
    poll(2);
  }
  open_door();
  advance(tick);
  CHECK(status_of(2) == token_status::active);
  CHECK(status_of(1) == token_status::waiting);
  CHECK(state().line.position(1) == 1); // the place is kept
  auto s = status();
  CHECK(caf::get_or(s, "parked", int64_t{-1}) == 1);
  CHECK(caf::get_or(s, "passedOverTotal", int64_t{-1}) == 1);
  CHECK(caf::get_or(s, "pollGraceSeconds", int64_t{-1}) == 2);
  auto t = poll(1); // back: admitted at the place's turn, the next tick
  CHECK(t.status == token_status::waiting);
  CHECK(t.position == 1);
  advance(tick);
  CHECK(status_of(1) == token_status::active);
  CHECK(state().parked == 0);
  CHECK(state().passed_over_total == 1);
}

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: passing over a waiter who stopped polling costs no admission") {
  cfg.admit_per_second = 10; // one per 100 ms tick
  cfg.poll_grace_seconds = 1;
  cfg.max_active = 0;
  start();
  seat_waiters(3);
  for (int i = 0; i < 3; ++i) { // 1.5 s: t2 and t3 poll, t1 does not
    advance_ticks(std::chrono::milliseconds(500));
    poll(2);
    poll(3);
  }
  open_door();
  state().admit_budget = 0; // what piled up behind the shut door: not this test's
  advance(tick);            // one admission's worth
  CHECK(status_of(1) == token_status::waiting);
  CHECK(status_of(2) == token_status::active);
  CHECK(status_of(3) == token_status::waiting);
  advance(tick);
  CHECK(status_of(3) == token_status::active);
  CHECK(status_of(1) == token_status::waiting);
  CHECK(state().passed_over_total == 2); // t1, once a tick
}

TEST_CASE_METHOD(waiting_room_fixture,
                 "waiting room: a walk stopped at its bound of passed-over waiters resumes there") {
  cfg.poll_grace_seconds = 1;
  cfg.max_active = 0;
  start();
  auto parked = static_cast<int64_t>(max_passed_over_per_tick) + 10;
  seat_waiters(parked + 1);
  advance_ticks(std::chrono::milliseconds(1500)); // nobody polls ...
  poll(parked + 1);                               // but the last in line
  open_door();
  advance(tick);
  CHECK(state().parked == max_passed_over_per_tick);
  CHECK(status_of(parked + 1) == token_status::waiting);
  advance(tick); // on from where the last walk stopped
  CHECK(status_of(parked + 1) == token_status::active);
  CHECK(state().parked == 10);
  CHECK(state().passed_over_total == static_cast<uint64_t>(parked));
  advance(tick); // and from the front again
  CHECK(state().parked == max_passed_over_per_tick);
  CHECK(state().line.size() == static_cast<size_t>(parked));
}
