#pragma once
// Scripted stand-ins for the actors a coordinator talks to. Each fake reads
// its answers from a script the test owns (shared_ptr, touched only between
// run() calls: the test coordinator runs every actor on the test's thread)
// and counts what it was asked.
//
// The fake db cannot run a task's `work`: it needs a live pg_connection. It
// answers `ok` (or an error) without running it, so the result an actor gets
// back from db_then/db_await is default-constructed (false, an empty
// optional, an empty row). Tests are designed around exactly that.

#include <climits>
#include <memory>

#include "actor_fixture.hpp"
#include "actors/booking_config.hpp"
#include "actors/db_call.hpp"
#include "actors/saga_context.hpp"
#include "messages/errors.hpp"

namespace boxoffice::testing {

// How one kind of request is answered: `failures` errors first (INT_MAX:
// always), then success; `silent` never answers, so the caller times out.
struct scripted_step {
  int calls = 0;
  int failures = 0;
  bool silent = false;
  caf::error failure = make_error(booking_errc::storage_failure, "scripted failure");

  void fail(caf::error err, int times = INT_MAX) {
    failure = std::move(err);
    failures = times;
  }

  template <class T> caf::result<T> answer(T value) {
    calls++;
    if (silent)
      return caf::delegated<T>{};
    if (failures > 0) {
      if (failures != INT_MAX)
        failures--;
      return failure;
    }
    return value;
  }
};

inline caf::error refused(const char* why) {
  return make_error(booking_errc::wrong_state, why);
}

// -- the db actor ------------------------------------------------------------

struct db_script {
  scripted_step task; // one call per db task submitted
};

inline db_actor::behavior_type fake_db(db_actor::pointer, std::shared_ptr<db_script> script) {
  return {
    [script](db_atom, storage::db_task_ptr) { return script->task.answer(caf::ok_atom_v); },
    [](db_atom, uint64_t) {},
    [](dispatcher_actor) {},
    [](status_atom) { return caf::settings{}; },
  };
}

// -- reservation, wallet, catalogue/schedule and their registries -------------

struct reservation_script {
  reservation_view view{9, 42, 3, 7, 100, reservation_status::held, 0, 0};
  scripted_step lookup; // the registry's get
  scripted_step get, pay, unpay, confirm, cancel, refund;
};

inline reservation_actor::behavior_type fake_reservation(reservation_actor::pointer,
                                                         std::shared_ptr<reservation_script> s) {
  auto with_status = [s](reservation_status status, int64_t saga) {
    auto v = s->view;
    v.status = status;
    v.saga_id = saga;
    return v;
  };
  return {
    [s](caf::get_atom) { return s->get.answer(s->view); },
    [s, with_status](pay_atom, int64_t saga) {
      return s->pay.answer(with_status(reservation_status::paying, saga));
    },
    [s, with_status](unpay_atom, int64_t) {
      return s->unpay.answer(with_status(reservation_status::held, 0));
    },
    [s, with_status](pay_atom) {
      return s->pay.answer(with_status(reservation_status::paying, 0));
    },
    [s, with_status](unpay_atom) {
      return s->unpay.answer(with_status(reservation_status::held, 0));
    },
    [](paid_atom, int64_t) {},
    [s](confirm_atom, int64_t) {
      auto& v = s->view;
      return s->confirm.answer(payment_view{77, v.id, v.user_id, v.price, "COMPLETED", 1});
    },
    [s, with_status](cancel_atom) {
      return s->cancel.answer(with_status(reservation_status::cancelled, 0));
    },
    [s, with_status](refund_atom, int64_t) {
      return s->refund.answer(with_status(reservation_status::cancelled, 0));
    },
    [](expire_atom, uint64_t) {},
    [](idle_atom) {},
    [](status_atom) { return caf::settings{}; },
  };
}

inline reservation_registry_actor::behavior_type
fake_reservation_registry(reservation_registry_actor::pointer,
                          std::shared_ptr<reservation_script> s, reservation_actor reservation) {
  return {
    [s, reservation](caf::get_atom, int64_t) { return s->lookup.answer(reservation); },
    [](adopt_atom, reservation_view) {},
    [](load_atom) {},
    [](caf::put_atom, caf::actor) {},
    [](status_atom) { return caf::settings{}; },
  };
}

struct wallet_script {
  int64_t balance = 1000;
  scripted_step lookup;
  scripted_step debit, refund, load;
  scripted_step pay; // a payment's one transaction
};

inline wallet_actor::behavior_type fake_wallet(wallet_actor::pointer,
                                               std::shared_ptr<wallet_script> s) {
  auto unused = [](auto...) { return make_error(booking_errc::invalid_argument, "not scripted"); };
  return {
    [s](caf::get_atom) -> caf::result<int64_t> { return s->balance; },
    [unused](charge_atom, int64_t) -> caf::result<int64_t> { return unused(); },
    [s](debit_atom, int64_t, int64_t amount) { return s->debit.answer(s->balance - amount); },
    [s](refund_atom, int64_t, int64_t amount) { return s->refund.answer(s->balance + amount); },
    [s](pay_atom, booking_payment b) -> caf::result<payment_view, int64_t> {
      auto& v = b.reservation;
      auto paid = s->pay.answer(payment_view{77, v.id, v.user_id, v.price, "COMPLETED", 1});
      if (paid.flag == caf::rt_error)
        return paid.err;
      if (paid.flag != caf::rt_value)
        return caf::delegated<payment_view, int64_t>{};
      return caf::result<payment_view, int64_t>{
        payment_view{77, v.id, v.user_id, v.price, "COMPLETED", 1}, int64_t{55}};
    },
    [s](load_atom) { return s->load.answer(s->balance); },
    [unused](history_atom) -> caf::result<ledger> { return unused(); },
    [](idle_atom) {},
    [](status_atom) { return caf::settings{}; },
  };
}

inline wallet_registry_actor::behavior_type fake_wallet_registry(wallet_registry_actor::pointer,
                                                                 std::shared_ptr<wallet_script> s,
                                                                 wallet_actor wallet) {
  return {
    [s, wallet](caf::get_atom, int64_t) { return s->lookup.answer(wallet); },
    [](status_atom) { return caf::settings{}; },
  };
}

struct schedule_script {
  scripted_step lookup; // the catalogue's get
  scripted_step sell, release;
};

inline schedule_actor::behavior_type fake_schedule(schedule_actor::pointer,
                                                   std::shared_ptr<schedule_script> s) {
  auto unused = [](auto...) { return make_error(booking_errc::invalid_argument, "not scripted"); };
  return {
    [unused](list_atom) -> caf::result<seat_board_ptr> { return unused(); },
    [unused](caf::get_atom) -> caf::result<schedule_info> { return unused(); },
    [unused](hold_atom, hold_request) -> caf::result<reservation_view> { return unused(); },
    [s](sell_atom, int32_t, int64_t) { return s->sell.answer(caf::ok_atom_v); },
    [s](release_atom, int32_t, int64_t) { return s->release.answer(caf::ok_atom_v); },
    [](idle_atom, int32_t, uint64_t, int64_t) {},
    [](status_atom) { return caf::settings{}; },
  };
}

inline catalogue_actor::behavior_type fake_catalogue(catalogue_actor::pointer,
                                                     std::shared_ptr<schedule_script> s,
                                                     schedule_actor schedule) {
  auto unused = [](auto...) { return make_error(booking_errc::invalid_argument, "not scripted"); };
  return {
    [unused](list_atom) -> caf::result<concert_list> { return unused(); },
    [unused](list_atom, int64_t) -> caf::result<schedule_list> { return unused(); },
    [s, schedule](caf::get_atom, int64_t, int64_t) { return s->lookup.answer(schedule); },
    [s, schedule](caf::get_atom, int64_t) { return s->lookup.answer(schedule); },
    [](status_atom) { return caf::settings{}; },
  };
}

struct waiting_room_script {
  scripted_step check;
  int leaves = 0;
};

inline waiting_room_actor::behavior_type fake_waiting_room(waiting_room_actor::pointer,
                                                           std::shared_ptr<waiting_room_script> s) {
  auto unused = [](auto...) { return make_error(booking_errc::invalid_argument, "not scripted"); };
  return {
    [unused](token_atom, int64_t) -> caf::result<queue_ticket> { return unused(); },
    [unused](poll_atom, std::string) -> caf::result<queue_ticket> { return unused(); },
    [s](check_atom, std::string, int64_t) { return s->check.answer(caf::ok_atom_v); },
    [s](leave_atom, int64_t) { s->leaves++; },
    [](tick_atom) {},
    [](status_atom) { return caf::settings{}; },
  };
}

// A deterministic system with every fake spawned: the test scripts them,
// spawns the actor under test with `track`, and the destructor stops them all
// (the test coordinator runs nothing by itself, so the system's destructor
// would otherwise wait for them forever).
struct fakes_fixture : actor_fixture {
  std::shared_ptr<db_script> db_calls = std::make_shared<db_script>();
  std::shared_ptr<reservation_script> reservation_calls = std::make_shared<reservation_script>();
  std::shared_ptr<wallet_script> wallet_calls = std::make_shared<wallet_script>();
  std::shared_ptr<schedule_script> schedule_calls = std::make_shared<schedule_script>();

  std::vector<caf::actor> spawned;

  template <class Handle> Handle track(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  db_actor db = track(sys.spawn(fake_db, db_calls));
  reservation_actor reservation = track(sys.spawn(fake_reservation, reservation_calls));
  reservation_registry_actor reservations =
    track(sys.spawn(fake_reservation_registry, reservation_calls, reservation));
  wallet_actor wallet = track(sys.spawn(fake_wallet, wallet_calls));
  wallet_registry_actor wallets = track(sys.spawn(fake_wallet_registry, wallet_calls, wallet));
  schedule_actor schedule = track(sys.spawn(fake_schedule, schedule_calls));
  catalogue_actor catalogue = track(sys.spawn(fake_catalogue, schedule_calls, schedule));
  std::shared_ptr<waiting_room_script> waiting_room_calls = std::make_shared<waiting_room_script>();
  waiting_room_actor waiting_room = track(sys.spawn(fake_waiting_room, waiting_room_calls));

  caf::scoped_actor client{sys};

  saga_context saga_ctx() { return {db, catalogue, reservations, wallets}; }

  // True when nothing has answered the client yet (the saga still runs).
  bool no_reply_yet() { return client->mailbox().empty(); }

  // The one answer the client expects: a T, or the error it ended with.
  template <class T> caf::expected<T> reply() {
    CHECK_FALSE(no_reply_yet()); // keeps no_reply_yet() honest: it does see replies
    caf::expected<T> out{make_error(booking_errc::not_found, "no answer")};
    receive(
      client, [&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  ~fakes_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    run();
  }
};

} // namespace boxoffice::testing
