#include "actors/payment_saga_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/inspector_actor.hpp"

#include "actors/ask_reservation.hpp"
#include "actors/db_call.hpp"

namespace boxoffice {

namespace {

using saga_ptr = payment_saga_actor::stateful_pointer<payment_saga_state>;

void enter(saga_ptr self, const char* step) {
  self->state.progress.enter(step);
}

// Runs `step` again after a backoff (see saga_progress::next_retry_delay).
void retry_later(saga_ptr self, const char* what, const caf::error& err,
                 std::function<void()> step) {
  auto& st = self->state;
  auto delay = st.progress.next_retry_delay();
  spdlog::warn("payment saga {}: {} failed ({}), retrying in {} ms", st.progress.row.id, what,
               error_message(err), delay.count());
  st.retry = std::move(step);
  self->delayed_send(self, delay, tick_atom_v);
}

void succeeded(saga_ptr self) {
  self->state.progress.step_succeeded();
}

// Ends the saga durably, then answers and quits. The end is retried until it
// commits: a coordinator that quit earlier would leave the saga to the sweeper.
void finish(saga_ptr self, saga_state state, caf::error err) {
  auto id = self->state.progress.row.id;
  auto reason = err ? error_message(err) : std::string{};
  enter(self, state == saga_state::completed ? "DONE" : "END");
  db_then(
    self, self->state.ctx.db,
    [id, state, reason](storage::pg_connection& c) {
      storage::finish_saga(c, id, state, reason);
      return true;
    },
    [self, err](bool) {
      self->state.answer.deliver(err);
      self->quit();
    },
    [self, state, err](caf::error& e) {
      retry_later(self, "END", e, [self, state, err] { finish(self, state, err); });
    });
}

void completed(saga_ptr self, const payment_view& payment) {
  enter(self, "DONE");
  self->state.answer.deliver(payment);
  self->quit();
}

void with_reservation(saga_ptr self, std::function<void(reservation_actor)> next,
                      std::function<void(caf::error&)> on_err) {
  self
    ->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v,
              self->state.progress.row.reservation_id)
    .then([next](reservation_actor r) { next(r); }, on_err);
}

void with_wallet(saga_ptr self, std::function<void(wallet_actor)> next,
                 std::function<void(caf::error&)> on_err) {
  self
    ->request(self->state.ctx.wallets, saga_step_timeout, caf::get_atom_v,
              self->state.progress.row.user_id)
    .then([next](wallet_actor w) { next(w); }, on_err);
}

void with_schedule(saga_ptr self, int64_t schedule_id, std::function<void(schedule_actor)> next,
                   std::function<void(caf::error&)> on_err) {
  self->request(self->state.ctx.catalogue, saga_step_timeout, caf::get_atom_v, schedule_id)
    .then([next](schedule_actor s) { next(s); }, on_err);
}

// PAYING -> HELD (its expiry then frees it). Done when the reservation is
// HELD, or is no longer this saga's; retried on anything else.
void unpay(saga_ptr self, caf::error why) {
  enter(self, "UNRESERVE");
  auto id = self->state.progress.row.id;
  auto again = [self, why](caf::error& e) {
    retry_later(self, "UNRESERVE", e, [self, why] { unpay(self, why); });
  };
  with_reservation(
    self,
    [self, why, id, again](reservation_actor r) {
      self->request(r, saga_step_timeout, unpay_atom_v, id)
        .then(
          [self, why](reservation_view) {
            succeeded(self);
            finish(self, saga_state::compensated, why);
          },
          [self, why, again](caf::error& e) {
            if (is(e, booking_errc::wrong_state)) // not (or no longer) ours
              return finish(self, saga_state::compensated, why);
            again(e);
          });
    },
    again);
}

// Compensation in reverse: refund (only what was debited, never once a
// payment exists), then return the reservation to HELD. The seat is left to
// the reservation: a seat sold to it stays its own (the seat accepts a new
// sale for the same reservation, so the fan can pay again), and the
// reservation's expiry or cancellation frees it. Releasing it here would show
// the seat AVAILABLE while a live hold owns it, and make a retry fail. The
// refund is retried until it commits.
void compensate(saga_ptr self, caf::error why, reservation_view view) {
  auto row = self->state.progress.row;
  enter(self, "REFUND");
  auto again = [self, why, view](caf::error& e) {
    retry_later(self, "REFUND", e, [self, why, view] { compensate(self, why, view); });
  };
  with_wallet(
    self,
    [self, why, view, row, again](wallet_actor w) {
      self->request(w, saga_step_timeout, refund_atom_v, row.id, row.amount)
        .then(
          [self, why](int64_t) {
            succeeded(self);
            unpay(self, why);
          },
          again);
    },
    again);
}

// Records COMPENSATING, unless the payment completed after all (a
// confirmation whose reply was lost): then the saga has succeeded.
void record_compensating(saga_ptr self, caf::error why, reservation_view view) {
  self->state.failure = why;
  auto id = self->state.progress.row.id;
  enter(self, "COMPENSATE");
  db_then(
    self, self->state.ctx.db,
    [id](storage::pg_connection& c) {
      auto payment = storage::payment_of_saga(c, id);
      if (!payment)
        storage::record_saga_step(c, id, "COMPENSATE", "STARTED", saga_state::compensating);
      return payment;
    },
    [self, why, view](std::optional<payment_view> payment) {
      succeeded(self);
      if (payment)
        return completed(self, *payment);
      compensate(self, why, view);
    },
    [self, why, view](caf::error& e) {
      retry_later(self, "COMPENSATE", e,
                  [self, why, view] { record_compensating(self, why, view); });
    });
}

void confirm(saga_ptr self, reservation_actor r, reservation_view view) {
  enter(self, "CONFIRM");
  self->request(r, saga_step_timeout, confirm_atom_v, self->state.progress.row.id)
    .then([self](payment_view payment) { completed(self, payment); },
          // The reply may be lost while the confirmation committed:
          // record_compensating asks the database before undoing anything.
          [self, view](caf::error& err) { record_compensating(self, err, view); });
}

void sell(saga_ptr self, reservation_actor r, reservation_view view) {
  enter(self, "SELL");
  with_schedule(
    self, view.schedule_id,
    [self, r, view](schedule_actor s) {
      self->request(s, saga_step_timeout, sell_atom_v, view.seat_number, view.id)
        .then([self, r, view](caf::ok_atom) { confirm(self, r, view); },
              [self, view](caf::error& err) { record_compensating(self, err, view); });
    },
    [self, view](caf::error& err) { record_compensating(self, err, view); });
}

void debit(saga_ptr self, reservation_actor r, reservation_view view) {
  enter(self, "DEBIT");
  auto row = self->state.progress.row;
  auto before_money = [self](caf::error& err) { unpay(self, err); };
  with_wallet(
    self,
    [self, r, view, row](wallet_actor w) {
      self->request(w, saga_step_timeout, debit_atom_v, row.id, row.amount)
        .then([self, r, view](int64_t) { sell(self, r, view); },
              [self, view](caf::error& err) {
                // Too few points: nothing moved, the hold simply stays.
                if (is(err, booking_errc::insufficient_balance))
                  return unpay(self, err);
                // Unknown whether the debit committed: refund what was taken.
                record_compensating(self, err, view);
              });
    },
    before_money);
}

void reserve(saga_ptr self) {
  enter(self, "RESERVE");
  auto id = self->state.progress.row.id;
  with_reservation(
    self,
    [self, id](reservation_actor r) {
      self->request(r, saga_step_timeout, pay_atom_v, id)
        .then([self, r](reservation_view view) { debit(self, r, view); },
              [self](caf::error& err) {
                // Refused: nothing happened. Anything else (a timeout) may
                // have marked it PAYING: undo that before ending.
                if (is(err, booking_errc::wrong_state))
                  return finish(self, saga_state::failed, err);
                unpay(self, err);
              });
    },
    [self](caf::error& err) { finish(self, saga_state::failed, err); });
}

void resume_compensation(saga_ptr self) {
  auto why = make_error(booking_errc::storage_failure, "interrupted before it finished");
  auto again = [self](caf::error& e) {
    retry_later(self, "RESUME", e, [self] { resume_compensation(self); });
  };
  ask_reservation(
    self, self->state.ctx.reservations, self->state.progress.row.reservation_id, saga_step_timeout,
    [self, why](reservation_actor, reservation_view view) { compensate(self, why, view); }, again);
}

} // namespace

payment_saga_actor::behavior_type
payment_saga_actor_impl(payment_saga_actor::stateful_pointer<payment_saga_state> self,
                        storage::saga_row row, saga_context ctx) {
  self->state.progress.row = std::move(row);
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "saga", std::to_string(self->state.progress.row.id));
  return {
    [=](pay_atom) {
      self->state.answer = self->make_response_promise<payment_view>();
      if (self->state.progress.row.state == saga_state::compensating)
        resume_compensation(self);
      else
        reserve(self);
      return self->state.answer;
    },
    [=](tick_atom) {
      auto step = std::move(self->state.retry);
      self->state.retry = nullptr;
      if (step)
        step();
    },
    [=](status_atom) { return self->state.progress.status(self->mailbox().size()); },
  };
}

} // namespace boxoffice
