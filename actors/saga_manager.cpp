#include "actors/saga_manager.hpp"

#include <nlohmann/json.hpp>

#include "actors/inspector.hpp"

#include "actors/cancellation_saga.hpp"
#include "actors/db_call.hpp"
#include "actors/payment_saga.hpp"

namespace boxoffice {

namespace {

using manager_ptr = saga_manager_actor::stateful_pointer<saga_manager_state>;
using answer_promise = caf::typed_response_promise<api_answer>;

constexpr auto saga_timeout = std::chrono::seconds(120);

caf::error busy_error() {
  return make_error(booking_errc::wrong_state, "a payment or cancellation of this reservation "
                                               "is in progress");
}

// Runs a payment saga to its end and answers.
void run_payment(manager_ptr self, storage::saga_row row, answer_promise rp) {
  auto saga = self->spawn(payment_saga_impl, row, self->state.ctx);
  self->state.busy[row.reservation_id] = caf::actor_cast<caf::actor>(saga);
  self->request(saga, saga_timeout, pay_atom_v)
    .then(
      [self, row, rp](payment_view payment) mutable {
        self->state.busy.erase(row.reservation_id);
        self->state.completed++;
        // The payment completes the fan's visit: their token expires.
        self->send(self->state.waiting_room, leave_atom_v, row.user_id);
        rp.deliver(api_answer{201, storage::payment_answer_body(payment)});
      },
      [self, row, rp](caf::error& err) mutable {
        self->state.busy.erase(row.reservation_id);
        self->state.failed++;
        if (!row.idempotency_key.empty())
          db_then(
            self, self->state.ctx.db,
            [row](storage::pg_connection& c) {
              storage::release_idempotency_key(c, row.user_id, row.idempotency_key);
              return true;
            },
            [](bool) {}, [](caf::error&) {});
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
  self->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v,
                req.reservation_id)
    .then(
      [self, req, rp, refuse](reservation_actor r) {
        self->request(r, saga_step_timeout, caf::get_atom_v)
          .then(
            [self, req, rp, refuse](reservation_view view) {
              if (view.user_id != req.user_id)
                return refuse(make_error(booking_errc::not_found, "reservation not found"));
              if (self->state.busy.count(view.id))
                return refuse(busy_error());
              if (view.status != "HELD")
                return refuse(make_error(booking_errc::wrong_state,
                                         "reservation is " + view.status + ", not HELD"));
              self->state.busy[view.id] = caf::actor{};
              self->state.started++;
              db_then(
                self, self->state.ctx.db,
                [view, key = req.idempotency_key](storage::pg_connection& c) {
                  storage::saga_row row{0, "PAYMENT", view.id, view.user_id, view.price,
                                        "RUNNING", "BEGIN", key};
                  row.id = storage::create_saga(c, "PAYMENT", view.id, view.user_id, view.price,
                                                key);
                  return row;
                },
                [self, rp](storage::saga_row row) { run_payment(self, row, *rp); },
                [self, refuse, id = view.id](caf::error& err) {
                  self->state.busy.erase(id);
                  refuse(err);
                });
            },
            [refuse](caf::error& err) { refuse(err); });
      },
      [refuse](caf::error& err) { refuse(err); });
}

// Stripe's rule: look the key up before anything else, so a retry gets the
// stored answer even after the first attempt expired the queue token.
caf::result<api_answer> pay(manager_ptr self, payment_request req, std::string hash,
                            std::function<void(answer_promise)> after_key) {
  auto rp = self->make_response_promise<api_answer>();
  if (req.idempotency_key.empty()) {
    after_key(rp);
    return rp;
  }
  db_then(
    self, self->state.ctx.db,
    [req, hash](storage::pg_connection& c) {
      return storage::claim_idempotency_key(c, req.user_id, req.idempotency_key, hash);
    },
    [rp, after_key](storage::key_claim claim) mutable {
      switch (claim.outcome) {
        case storage::key_claim::replay:
          {
                rp.deliver(claim.stored);
                return;
              }
        case storage::key_claim::in_flight:
          {
                rp.deliver(make_error(booking_errc::idempotency_in_flight,
                                       "a request with this Idempotency-Key is in progress"));
                return;
              }
        case storage::key_claim::mismatch:
          {
                rp.deliver(make_error(booking_errc::idempotency_mismatch,
                                       "this Idempotency-Key was used with another request"));
                return;
              }
        case storage::key_claim::claimed:
          after_key(rp);
          return;
      }
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
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
    [](bool) {}, [](caf::error&) {});
}

caf::result<reservation_view> cancel(manager_ptr self, reservation_view view) {
  if (self->state.busy.count(view.id))
    return busy_error();
  if (view.status != "CONFIRMED")
    return make_error(booking_errc::wrong_state, "reservation is " + view.status);
  auto rp = self->make_response_promise<reservation_view>();
  self->state.busy[view.id] = caf::actor{};
  self->state.started++;
  db_then(
    self, self->state.ctx.db,
    [view](storage::pg_connection& c) {
      storage::saga_row row{0, "CANCELLATION", view.id, view.user_id, view.price,
                            "RUNNING", "BEGIN", ""};
      row.id = storage::create_saga(c, "CANCELLATION", view.id, view.user_id, view.price, "");
      return row;
    },
    [self, rp](storage::saga_row row) mutable {
      auto saga = self->spawn(cancellation_saga_impl, row, self->state.ctx);
      self->state.busy[row.reservation_id] = caf::actor_cast<caf::actor>(saga);
      self->request(saga, saga_timeout, cancel_atom_v)
        .then(
          [self, rp, id = row.reservation_id](reservation_view v) mutable {
            self->state.busy.erase(id);
            self->state.completed++;
            rp.deliver(v);
          },
          [self, rp, id = row.reservation_id](caf::error& err) mutable {
            self->state.busy.erase(id);
            self->state.failed++;
            rp.deliver(err);
          });
    },
    [self, rp, id = view.id](caf::error& err) mutable {
      self->state.busy.erase(id);
      rp.deliver(err);
    });
  return rp;
}

// At start-up: every unfinished saga resumes (or compensates) to its end.
void recover(manager_ptr self) {
  db_then(
    self, self->state.ctx.db,
    [](storage::pg_connection& c) {
      storage::release_orphaned_keys(c);
      return storage::unfinished_sagas(c);
    },
    [self](std::vector<storage::saga_row> rows) {
      for (auto& row : rows) {
        self->state.resumed++;
        auto done = [self, id = row.reservation_id](auto&&...) {
          self->state.busy.erase(id);
        };
        if (row.kind == "PAYMENT") {
          auto saga = self->spawn(payment_saga_impl, row, self->state.ctx);
          self->state.busy[row.reservation_id] = caf::actor_cast<caf::actor>(saga);
          self->request(saga, saga_timeout, pay_atom_v)
            .then([done, self, user = row.user_id](payment_view p) {
                    self->send(self->state.waiting_room, leave_atom_v, user);
                    done(p);
                  },
                  [done](caf::error& e) { done(e); });
        } else {
          auto saga = self->spawn(cancellation_saga_impl, row, self->state.ctx);
          self->state.busy[row.reservation_id] = caf::actor_cast<caf::actor>(saga);
          self->request(saga, saga_timeout, cancel_atom_v)
            .then([done](reservation_view v) { done(v); }, [done](caf::error& e) { done(e); });
        }
      }
    },
    [](caf::error&) {});
}

} // namespace

saga_manager_actor::behavior_type
saga_manager_impl(saga_manager_actor::stateful_pointer<saga_manager_state> self, saga_context ctx,
                  waiting_room_actor waiting_room) {
  self->state.ctx = std::move(ctx);
  self->state.waiting_room = std::move(waiting_room);
  register_inspectable(self, "sagas", "main");
  recover(self);
  return {
    [=](pay_atom, payment_request req, std::string hash) {
      return pay(self, req, hash, [self, req](answer_promise rp) mutable {
        // The key is ours now: check the token, then start the saga.
        self->request(self->state.waiting_room, saga_step_timeout, check_atom_v, req.token,
                      req.user_id)
          .then([self, req, rp](caf::ok_atom) mutable { start_payment(self, req, rp); },
                [self, req, rp](caf::error& err) mutable {
                  release_key(self, req);
                  rp.deliver(err);
                });
      });
    },
    [=](cancel_atom, reservation_view view) { return cancel(self, view); },
    [=](load_atom) { recover(self); },
    [=](status_atom) {
      auto& st = self->state;
      nlohmann::json j{{"type", "sagas"},          {"running", st.busy.size()},
                       {"started", st.started},    {"completed", st.completed},
                       {"failed", st.failed},      {"resumed", st.resumed},
                       {"mailbox", self->mailbox().size()}};
      return j.dump();
    },
  };
}

} // namespace boxoffice
