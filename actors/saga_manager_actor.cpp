#include "actors/saga_manager_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "actors/ask_reservation.hpp"
#include "actors/cancellation_saga_actor.hpp"
#include "actors/db_call.hpp"
#include "actors/one_commit_payment.hpp"
#include "actors/payment_saga_actor.hpp"
#include "storage/pg.hpp"

namespace boxoffice {

namespace {

using manager_ptr = saga_manager_actor::stateful_pointer<saga_manager_state>;
using answer_promise = caf::typed_response_promise<api_answer>;

// How often the sweeper looks for sagas without a coordinator and for
// reservations left PAYING by a saga that ended.
constexpr auto sweep_interval = std::chrono::seconds(5);
// A saga untouched this long with no coordinator here is resumed. Longer than
// the gap between creating a saga row and spawning its coordinator.
constexpr int sweep_idle_seconds = 10;

caf::error busy_error() {
  return make_error(booking_errc::wrong_state, "a payment or cancellation of this reservation "
                                               "is in progress");
}

// Creates the saga row; 0 when the database already has a live saga for the
// reservation (the unique index that backs `busy` across timeouts, crashes
// and nodes).
int64_t create_saga_or_zero(storage::pg_connection& c, const std::string& kind,
                            const reservation_view& view, const std::string& key) {
  c.run("SAVEPOINT create_saga");
  try {
    auto id = storage::create_saga(c, kind, view.id, view.user_id, view.price, key);
    c.run("RELEASE SAVEPOINT create_saga");
    return id;
  } catch (const storage::pg_error& e) {
    if (e.sqlstate() != "23505")
      throw;
    c.run("ROLLBACK TO SAVEPOINT create_saga");
    return 0;
  }
}

// The coordinator owns its `busy` entry until it stops, however it stops.
// Coordinators are spawned linked: a shutdown reaches them (and their retry
// timers) through the manager; one that dies is forgotten, not propagated.
template <class Handle> void own(manager_ptr self, int64_t reservation_id, const Handle& saga) {
  auto handle = caf::actor_cast<caf::actor>(saga);
  self->state.busy[reservation_id] = handle;
  self->state.reservation_of[handle.address()] = reservation_id;
  self->state.coordinators.insert(handle.address());
  self->monitor(handle);
}

void forget(manager_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto i = st.reservation_of.find(msg.source);
  if (i == st.reservation_of.end())
    return;
  auto b = st.busy.find(i->second);
  if (b != st.busy.end() && b->second.address() == msg.source)
    st.busy.erase(b);
  st.reservation_of.erase(i);
}

// Runs a payment saga to its end and answers. The request has no timeout: the
// answer comes when the saga ends, or an error when it stops without one. The
// client's own request may time out first; the saga still runs to its end,
// and its Idempotency-Key is released (in the saga's last transaction) only
// if it ends without effect.
void run_payment(manager_ptr self, storage::saga_row row, answer_promise rp) {
  auto saga = self->spawn<caf::linked>(payment_saga_actor_impl, row, self->state.ctx);
  own(self, row.reservation_id, saga);
  self->request(saga, caf::infinite, pay_atom_v)
    .then(
      [self, row, rp](payment_view payment) mutable {
        self->state.completed++;
        // The payment completes the fan's visit: their token expires.
        self->send(self->state.waiting_room, leave_atom_v, row.user_id);
        rp.deliver(self->state.ctx.payment_answer(payment));
      },
      [self, rp](caf::error& err) mutable {
        self->state.failed++;
        rp.deliver(err);
      });
}

void release_key(manager_ptr self, const payment_request& req);

// Creates the saga row for a held reservation of this user, then runs it. Any
// refusal before the saga exists gives the Idempotency-Key back.
void start_payment(manager_ptr self, const payment_request& req, answer_promise answer) {
  auto rp = std::make_shared<answer_promise>(answer);
  auto refuse = [self, req, rp](caf::error err) {
    release_key(self, req);
    rp->deliver(std::move(err));
  };
  ask_reservation(
    self, self->state.ctx.reservations, req.reservation_id, saga_step_timeout,
    [self, req, rp, refuse](reservation_actor, reservation_view view) {
      if (view.user_id != req.user_id)
        return refuse(make_error(booking_errc::not_found, "reservation not found"));
      if (self->state.busy.count(view.id))
        return refuse(busy_error());
      if (view.status != reservation_status::held)
        return refuse(make_error(booking_errc::wrong_state,
                                 "reservation is " + to_string(view.status) + ", not HELD"));
      self->state.busy[view.id] = caf::actor{};
      self->state.started++;
      db_then(
        self, self->state.ctx.db,
        [view, key = req.idempotency_key](storage::pg_connection& c) {
          storage::saga_row row{0,          "PAYMENT",           view.id, view.user_id,
                                view.price, saga_state::running, "BEGIN", key};
          row.id = create_saga_or_zero(c, "PAYMENT", view, key);
          return row;
        },
        [self, rp, refuse](storage::saga_row row) {
          if (row.id == 0) {
            self->state.busy.erase(row.reservation_id);
            return refuse(busy_error());
          }
          run_payment(self, row, *rp);
        },
        [self, refuse, id = view.id](caf::error& err) {
          // The row may have committed all the same (a lost reply):
          // then the sweeper finds it and runs it to its end.
          self->state.busy.erase(id);
          refuse(err);
        });
    },
    [refuse](caf::error& err) { refuse(err); });
}

// What a request with an Idempotency-Key may learn: only with a queue token
// of its own user, in any state (the payment expired it).
struct key_lookup {
  enum { no_token, foreign_token, ok } identity = ok;
  storage::key_claim claim;
};

// Stripe's rule: look the key up before judging the token's state, so a retry
// gets the stored answer even after the first attempt expired the token; but
// the token must still be this user's.
void claim_key(manager_ptr self, payment_request req, std::string hash, answer_promise rp,
               std::function<void(answer_promise)> after_key) {
  if (req.idempotency_key.empty()) {
    after_key(rp);
    return;
  }
  db_then(
    self, self->state.ctx.db,
    [req, hash](storage::pg_connection& c) {
      key_lookup out;
      auto owner = req.token.empty() ? std::nullopt : storage::token_owner(c, req.token);
      if (!owner)
        out.identity = key_lookup::no_token;
      else if (*owner != req.user_id)
        out.identity = key_lookup::foreign_token;
      else
        out.claim = storage::claim_idempotency_key(c, req.user_id, req.idempotency_key, hash);
      return out;
    },
    [rp, after_key](key_lookup out) mutable {
      if (out.identity == key_lookup::no_token) {
        rp.deliver(make_error(booking_errc::token_missing,
                              "header X-Queue-Token must name a queue token of this user"));
        return;
      }
      if (out.identity == key_lookup::foreign_token) {
        rp.deliver(
          make_error(booking_errc::token_forbidden, "the queue token belongs to another user"));
        return;
      }
      switch (out.claim.outcome) {
        case storage::key_claim::replay:
          rp.deliver(out.claim.stored);
          return;
        case storage::key_claim::in_flight:
          rp.deliver(make_error(booking_errc::idempotency_in_flight,
                                "a request with this Idempotency-Key is in progress"));
          return;
        case storage::key_claim::mismatch:
          rp.deliver(make_error(booking_errc::idempotency_mismatch,
                                "this Idempotency-Key was used with another request"));
          return;
        case storage::key_claim::claimed:
          after_key(rp);
          return;
      }
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
}

// The saga path: claim the key, check the token with the waiting room, then
// run a payment saga.
void pay_through_saga(manager_ptr self, payment_request req, std::string hash, answer_promise rp) {
  claim_key(self, req, hash, rp, [self, req](answer_promise rp) mutable {
    // The key is ours now: check the token, then start the saga.
    self->request(self->state.waiting_room, saga_step_timeout, check_atom_v, req.token, req.user_id)
      .then([self, req, rp](caf::ok_atom) mutable { start_payment(self, req, rp); },
            [self, req, rp](caf::error& err) mutable {
              release_key(self, req);
              rp.deliver(err);
            });
  });
}

void release_key(manager_ptr self, const payment_request& req) {
  if (req.idempotency_key.empty())
    return;
  db_then(
    self, self->state.ctx.db,
    [req](storage::pg_connection& c) {
      storage::release_idempotency_key(c, req.user_id, req.idempotency_key);
      return true;
    },
    [](bool) {},
    // The key stays claimed until the next start-up sweep releases orphaned keys.
    log_failure("releasing Idempotency-Key of user " + std::to_string(req.user_id)));
}

void run_cancellation(manager_ptr self, storage::saga_row row,
                      caf::typed_response_promise<reservation_view> rp) {
  auto saga = self->spawn<caf::linked>(cancellation_saga_actor_impl, row, self->state.ctx);
  own(self, row.reservation_id, saga);
  self->request(saga, caf::infinite, cancel_atom_v)
    .then(
      [self, rp](reservation_view v) mutable {
        self->state.completed++;
        rp.deliver(v);
      },
      [self, rp](caf::error& err) mutable {
        self->state.failed++;
        rp.deliver(err);
      });
}

caf::result<reservation_view> cancel(manager_ptr self, reservation_view view) {
  if (self->state.busy.count(view.id))
    return busy_error();
  if (view.status != reservation_status::confirmed)
    return make_error(booking_errc::wrong_state, "reservation is " + to_string(view.status));
  auto rp = self->make_response_promise<reservation_view>();
  self->state.busy[view.id] = caf::actor{};
  self->state.started++;
  db_then(
    self, self->state.ctx.db,
    [view](storage::pg_connection& c) {
      storage::saga_row row{0,          "CANCELLATION",      view.id, view.user_id,
                            view.price, saga_state::running, "BEGIN", ""};
      row.id = create_saga_or_zero(c, "CANCELLATION", view, "");
      return row;
    },
    [self, rp](storage::saga_row row) mutable {
      if (row.id == 0) {
        self->state.busy.erase(row.reservation_id);
        rp.deliver(busy_error());
        return;
      }
      run_cancellation(self, row, rp);
    },
    [self, rp, id = view.id](caf::error& err) mutable {
      self->state.busy.erase(id);
      rp.deliver(err);
    });
  return rp;
}

// Spawns a coordinator for an unfinished saga that has none here.
void resume(manager_ptr self, const storage::saga_row& row) {
  if (self->state.busy.count(row.reservation_id))
    return; // its coordinator (or its creation) is under way
  self->state.resumed++;
  spdlog::info("resuming {} saga {} ({}) of reservation {}", row.kind, row.id, to_string(row.state),
               row.reservation_id);
  if (row.kind == "PAYMENT") {
    auto saga = self->spawn<caf::linked>(payment_saga_actor_impl, row, self->state.ctx);
    own(self, row.reservation_id, saga);
    self->request(saga, caf::infinite, pay_atom_v)
      .then([self, user = row.user_id](
              payment_view) { self->send(self->state.waiting_room, leave_atom_v, user); },
            log_failure("resumed payment saga " + std::to_string(row.id)));
  } else {
    auto saga = self->spawn<caf::linked>(cancellation_saga_actor_impl, row, self->state.ctx);
    own(self, row.reservation_id, saga);
    self->request(saga, caf::infinite, cancel_atom_v)
      .then([](reservation_view) {},
            log_failure("resumed cancellation saga " + std::to_string(row.id)));
  }
}

// At start-up (idle_seconds 0: every unfinished saga) and then periodically:
// sagas without a coordinator are resumed to their end, and payment sagas
// that ended while their reservation stayed PAYING are reopened to compensate
// (give back the points if taken, then PAYING -> HELD so the expiry frees it).
void sweep(manager_ptr self, int idle_seconds) {
  self->state.sweeps++;
  db_then(
    self, self->state.ctx.db,
    [idle_seconds, scope = owned_scope(self->state.ctx.cluster)](storage::pg_connection& c) {
      if (idle_seconds == 0)
        storage::release_orphaned_keys(c);
      storage::reopen_stranded_sagas(c);
      return storage::unfinished_sagas(c, idle_seconds, scope);
    },
    [self](std::vector<storage::saga_row> rows) {
      for (auto& row : rows)
        resume(self, row);
      self->delayed_send(self, sweep_interval, load_atom_v);
    },
    [self](caf::error& err) {
      spdlog::warn("saga sweep failed: {}", error_message(err));
      self->delayed_send(self, sweep_interval, load_atom_v);
    });
}

} // namespace

saga_manager_actor::behavior_type
saga_manager_actor_impl(saga_manager_actor::stateful_pointer<saga_manager_state> self,
                        saga_context ctx, waiting_room_actor waiting_room) {
  self->state.ctx = std::move(ctx);
  self->state.waiting_room = std::move(waiting_room);
  register_inspectable(self, "sagas", "main");
  self->set_down_handler([self](const caf::down_msg& msg) { forget(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.coordinators.erase(msg.source) > 0)
      return;               // a coordinator ended (however): its down message cleans up
    self->quit(msg.reason); // a shutdown
  });
  sweep(self, 0);
  return {
    [=](pay_atom, payment_request req, std::string hash) -> caf::result<api_answer> {
      if (auto err = concurrent_with_one_commit(self, req))
        return err;
      auto rp = self->make_response_promise<api_answer>();
      if (!one_commit_possible(self, req)) {
        pay_through_saga(self, req, hash, rp);
        return rp;
      }
      pay_in_one_commit(self, req, hash, rp,
                        [self, req, hash, rp] { pay_through_saga(self, req, hash, rp); });
      return rp;
    },
    [=](cancel_atom, reservation_view view) { return cancel(self, view); },
    [=](load_atom) { sweep(self, sweep_idle_seconds); },
    [=](status_atom) {
      auto& st = self->state;
      caf::settings s;
      s["type"] = "sagas";
      s["running"] = st.busy.size();
      s["started"] = st.started;
      s["oneCommit"] = st.one_commit;
      s["completed"] = st.completed;
      s["failed"] = st.failed;
      s["resumed"] = st.resumed;
      s["sweeps"] = st.sweeps;
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
