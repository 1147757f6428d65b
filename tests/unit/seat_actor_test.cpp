// The seat actor decides from memory: a taken seat is refused without a
// database round trip, and a hold in flight turns racing holds away at once.
#include <catch2/catch.hpp>
#include <tuple>

#include "actor_fixture.hpp"
#include "actors/seat_actor.hpp"
#include "messages/errors.hpp"

using namespace boxoffice;

namespace {

// Stands in for the storage actor: counts tasks and answers only when told.
struct fake_db_state {
  int calls = 0;
  std::vector<caf::typed_response_promise<caf::ok_atom>> waiting;
};

db_actor::behavior_type fake_db(db_actor::stateful_pointer<fake_db_state> self) {
  return {
    [=](db_atom, storage::db_task_ptr) {
      self->state.calls++;
      auto rp = self->make_response_promise<caf::ok_atom>();
      self->state.waiting.push_back(rp);
      return rp;
    },
    [=](db_atom, uint64_t) {
      for (auto& rp : self->state.waiting)
        rp.deliver(make_error(booking_errc::storage_failure, "database down"));
      self->state.waiting.clear();
    },
    [=](dispatcher_actor) {},
    [=](status_atom) { return caf::settings{}; },
  };
}

// Stands in for the schedule: records its seats' idle reports.
struct fake_schedule_state {
  std::vector<std::tuple<int32_t, uint64_t, int64_t>> reports; // seat, handled, owner
};

schedule_actor::behavior_type
fake_schedule(schedule_actor::stateful_pointer<fake_schedule_state> self) {
  return {
    [=](list_atom) { return seat_board_ptr{}; },
    [=](caf::get_atom) { return schedule_info{}; },
    [=](hold_atom, hold_request) -> caf::result<reservation_view> {
      return make_error(booking_errc::not_found, "not in this test");
    },
    [=](sell_atom, int32_t, int64_t) { return caf::ok_atom_v; },
    [=](release_atom, int32_t, int64_t) { return caf::ok_atom_v; },
    [=](idle_atom, int32_t seat, uint64_t handled, int64_t owner) {
      self->state.reports.emplace_back(seat, handled, owner);
    },
    [=](status_atom) { return caf::settings{}; },
  };
}

struct seat_fixture : testing::actor_fixture {
  db_actor db = sys.spawn(fake_db);
  caf::scoped_actor client{sys};

  seat_actor seat(seat_status status, int64_t reservation) {
    seat_init init{1, 7, 100000, status, reservation, nullptr, 0, {}};
    seat_context ctx{db, reservation_registry_actor{}, booking_config{}, nullptr};
    auto s = sys.spawn(seat_actor_impl, init, ctx);
    spawned.push_back(caf::actor_cast<caf::actor>(s));
    return s;
  }

  // The deterministic scheduler runs nothing by itself: stop every actor here,
  // or the system's destructor waits for them forever.
  ~seat_fixture() {
    spawned.push_back(caf::actor_cast<caf::actor>(db));
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    run();
  }

  std::vector<caf::actor> spawned;

  int db_calls() {
    return dynamic_cast<caf::stateful_actor<fake_db_state, db_actor::base>&>(
             *caf::actor_cast<caf::abstract_actor*>(db))
      .state.calls;
  }
};

} // namespace

TEST_CASE_METHOD(seat_fixture, "a held seat is refused from memory") {
  auto s = seat(seat_status::held, 9);
  run();
  client->send(s, hold_atom_v, hold_request{42, 1, 7});
  run();
  CHECK(db_calls() == 0);
  bool refused = false;
  receive(
    client, [&](reservation_view&) {},
    [&](caf::error& err) { refused = is(err, booking_errc::seat_unavailable); });
  CHECK(refused);
}

TEST_CASE_METHOD(seat_fixture, "a hold in flight turns a racing hold away without the database") {
  auto s = seat(seat_status::available, 0);
  run();
  client->send(s, hold_atom_v, hold_request{42, 1, 7});
  client->send(s, hold_atom_v, hold_request{43, 1, 7});
  run();
  CHECK(db_calls() == 1); // only the first went to the database
  // The database fails the first: the seat is free again, and says so.
  caf::anon_send(db, db_atom_v, uint64_t{0});
  run();
  std::vector<bool> unavailable;
  for (int i = 0; i < 2; ++i)
    receive(
      client, [&](reservation_view&) { unavailable.push_back(false); },
      [&](caf::error& err) { unavailable.push_back(is(err, booking_errc::seat_unavailable)); });
  CHECK(unavailable == std::vector<bool>{true, false}); // the racer first, then the failure
  client->send(s, hold_atom_v, hold_request{44, 1, 7});
  run();
  CHECK(db_calls() == 2); // available again after the failed insert
}

TEST_CASE_METHOD(seat_fixture, "sell and release follow the owning reservation") {
  auto s = seat(seat_status::held, 9);
  run();
  auto ask = [&](auto... xs) {
    bool ok = false;
    client->send(s, xs...);
    run();
    receive(
      client, [&](caf::ok_atom) { ok = true; }, [&](caf::error&) { ok = false; });
    return ok;
  };
  CHECK_FALSE(ask(sell_atom_v, int64_t{8})); // another reservation cannot sell it
  CHECK(ask(sell_atom_v, int64_t{9}));
  CHECK(ask(sell_atom_v, int64_t{9}));    // idempotent for a resumed saga
  CHECK(ask(release_atom_v, int64_t{8})); // a stale release changes nothing...
  client->send(s, hold_atom_v, hold_request{42, 1, 7});
  run();
  bool refused = false;
  receive(
    client, [&](reservation_view&) {},
    [&](caf::error& err) { refused = is(err, booking_errc::seat_unavailable); });
  CHECK(refused); // ...the seat is still sold
  CHECK(ask(release_atom_v, int64_t{9}));
  CHECK(db_calls() == 0);
}

TEST_CASE_METHOD(seat_fixture, "the board shows a claimed seat before the database answers") {
  std::vector<seat_board::seat> seats{{7, 100000, seat_status::available}};
  auto board = std::make_shared<seat_board>(1, 1, seats);
  seat_init init{1, 7, 100000, seat_status::available, 0, board, 0, {}};
  seat_context ctx{db, reservation_registry_actor{}, booking_config{}, nullptr};
  auto s = sys.spawn(seat_actor_impl, init, ctx);
  spawned.push_back(caf::actor_cast<caf::actor>(s));
  run();
  auto v0 = board->version();
  client->send(s, hold_atom_v, hold_request{42, 1, 7});
  run();
  CHECK(board->status(0) == seat_status::held); // readers turn away at once
  CHECK(board->version() == v0 + 1);
  caf::anon_send(db, db_atom_v, uint64_t{0}); // the insert fails
  run();
  CHECK(board->status(0) == seat_status::available);
  CHECK(board->version() == v0 + 2);
  receive(
    client, [&](reservation_view&) {}, [&](caf::error&) {});
}

// A seat under a fake schedule, which records the seat's idle reports.
struct passivation_fixture : seat_fixture {
  schedule_actor schedule = sys.spawn(fake_schedule);
  std::vector<std::tuple<int32_t, uint64_t, int64_t>>& reports =
    dynamic_cast<caf::stateful_actor<fake_schedule_state, schedule_actor::base>&>(
      *caf::actor_cast<caf::abstract_actor*>(schedule))
      .state.reports;

  passivation_fixture() { spawned.push_back(caf::actor_cast<caf::actor>(schedule)); }

  seat_actor seat_under_schedule(seat_status status, int64_t owner, int idle_seconds) {
    booking_config cfg;
    cfg.idle_seconds = idle_seconds;
    seat_init init{1, 7, 100000, status, owner, nullptr, 0, schedule};
    auto s = sys.spawn(seat_actor_impl, init, seat_context{db, {}, cfg, nullptr});
    spawned.push_back(caf::actor_cast<caf::actor>(s));
    run();
    return s;
  }
};

TEST_CASE_METHOD(passivation_fixture,
                 "an idle seat asks its schedule to let it go, with its count and owner") {
  auto s = seat_under_schedule(seat_status::held, 9, 60);
  advance(std::chrono::seconds(30));
  client->send(s, sell_atom_v, int64_t{9});
  run();
  receive(
    client, [](caf::ok_atom) {}, [](caf::error&) { FAIL("sell refused"); });
  advance(std::chrono::seconds(30)); // its first check: used 30 s ago, not idle yet
  CHECK(reports.empty());
  advance(std::chrono::seconds(60));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0] == std::make_tuple(int32_t{7}, uint64_t{1}, int64_t{9}));
  client->monitor(s);
  caf::anon_send(s, idle_atom_v); // the schedule lets it go
  run();
  bool gone = false;
  client->receive([&](caf::down_msg&) { gone = true; },
                  caf::after(std::chrono::seconds(1)) >> [] {});
  CHECK(gone);
}

TEST_CASE_METHOD(passivation_fixture, "a seat with a hold in flight never asks to go") {
  auto s = seat_under_schedule(seat_status::available, 0, 1);
  client->send(s, hold_atom_v, hold_request{42, 1, 7}); // the database never answers
  run();
  advance(std::chrono::seconds(10));
  CHECK(reports.empty());
}
