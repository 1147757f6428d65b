#include "actors/payment_saga.hpp"

#include <nlohmann/json.hpp>

#include "actors/inspector.hpp"

#include "actors/db_call.hpp"

namespace boxoffice {

namespace {

using saga_ptr = payment_saga_actor::stateful_pointer<payment_saga_state>;

void enter(saga_ptr self, const char* step) {
  self->state.progress.step = step;
  self->state.progress.history.emplace_back(step);
}

// Ends the saga durably, then answers and quits.
void finish(saga_ptr self, const std::string& state, caf::error err) {
  auto id = self->state.progress.row.id;
  auto reason = err ? error_message(err) : std::string{};
  enter(self, state == "COMPLETED" ? "DONE" : "FAILED");
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
    [self, err](caf::error&) {
      // Still RUNNING or COMPENSATING in the database: resumed at next start.
      self->state.answer.deliver(err);
      self->quit();
    });
}

void with_reservation(saga_ptr self, std::function<void(reservation_actor)> next) {
  self->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v,
                self->state.progress.row.reservation_id)
    .then([next](reservation_actor r) { next(r); },
          [self](caf::error& err) { finish(self, "FAILED", err); });
}

void with_wallet(saga_ptr self, std::function<void(wallet_actor)> next,
                 std::function<void(caf::error&)> on_err) {
  self->request(self->state.ctx.wallets, saga_step_timeout, caf::get_atom_v,
                self->state.progress.row.user_id)
    .then([next](wallet_actor w) { next(w); }, on_err);
}

void with_schedule(saga_ptr self, int64_t schedule_id, std::function<void(schedule_actor)> next,
                   std::function<void(caf::error&)> on_err) {
  self->request(self->state.ctx.catalogue, saga_step_timeout, caf::get_atom_v, schedule_id)
    .then([next](schedule_actor s) { next(s); }, on_err);
}

// Compensation in reverse: refund (only what was debited), free the seat if
// it was sold, return the reservation to HELD so its expiry frees it.
void compensate(saga_ptr self, caf::error why, reservation_view view);

void record_compensating(saga_ptr self, caf::error why, reservation_view view) {
  self->state.failure = why;
  auto id = self->state.progress.row.id;
  enter(self, "COMPENSATE");
  db_then(
    self, self->state.ctx.db,
    [id](storage::pg_connection& c) {
      storage::record_saga_step(c, id, "COMPENSATE", "STARTED", "COMPENSATING");
      return true;
    },
    [self, why, view](bool) { compensate(self, why, view); },
    [self, why](caf::error&) { finish(self, "FAILED", why); });
}

void unpay(saga_ptr self, caf::error why) {
  enter(self, "UNRESERVE");
  auto id = self->state.progress.row.id;
  with_reservation(self, [self, why, id](reservation_actor r) {
    self->request(r, saga_step_timeout, unpay_atom_v, id)
      .then([self, why](reservation_view) { finish(self, "COMPENSATED", why); },
            [self, why](caf::error&) { finish(self, "COMPENSATED", why); });
  });
}

void compensate(saga_ptr self, caf::error why, reservation_view view) {
  auto row = self->state.progress.row;
  enter(self, "REFUND");
  auto on_err = [self, why](caf::error&) { finish(self, "FAILED", why); };
  with_wallet(
    self,
    [self, why, view, row, on_err](wallet_actor w) {
      self->request(w, saga_step_timeout, refund_atom_v, row.id, row.amount)
        .then(
          [self, why, view](int64_t) {
            enter(self, "RELEASE");
            with_schedule(
              self, view.schedule_id,
              [self, why, view](schedule_actor s) {
                self->request(s, saga_step_timeout, release_atom_v, view.seat_number, view.id)
                  .then([self, why](caf::ok_atom) { unpay(self, why); },
                        [self, why](caf::error&) { unpay(self, why); });
              },
              [self, why](caf::error&) { unpay(self, why); });
          },
          on_err);
    },
    on_err);
}

void confirm(saga_ptr self, reservation_actor r, reservation_view view) {
  enter(self, "CONFIRM");
  self->request(r, saga_step_timeout, confirm_atom_v, self->state.progress.row.id)
    .then(
      [self](payment_view payment) {
        enter(self, "DONE");
        self->state.answer.deliver(payment);
        self->quit();
      },
      [self, view](caf::error& err) {
        // The reply may be lost while the confirmation committed: ask the
        // database before undoing anything.
        db_then(
          self, self->state.ctx.db,
          [id = self->state.progress.row.id](storage::pg_connection& c) {
            return storage::payment_of_saga(c, id);
          },
          [self, err, view](std::optional<payment_view> payment) {
            if (!payment)
              return record_compensating(self, err, view);
            enter(self, "DONE");
            self->state.answer.deliver(*payment);
            self->quit();
          },
          [self, err, view](caf::error&) { record_compensating(self, err, view); });
      });
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
    [self, r, view, row, before_money](wallet_actor w) {
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
  with_reservation(self, [self, id](reservation_actor r) {
    self->request(r, saga_step_timeout, pay_atom_v, id)
      .then([self, r](reservation_view view) { debit(self, r, view); },
            [self](caf::error& err) { finish(self, "FAILED", err); });
  });
}

void resume_compensation(saga_ptr self) {
  auto why = make_error(booking_errc::storage_failure, "interrupted by a restart");
  with_reservation(self, [self, why](reservation_actor r) {
    self->request(r, saga_step_timeout, caf::get_atom_v)
      .then([self, why](reservation_view view) { compensate(self, why, view); },
            [self, why](caf::error&) { finish(self, "FAILED", why); });
  });
}

} // namespace

payment_saga_actor::behavior_type
payment_saga_impl(payment_saga_actor::stateful_pointer<payment_saga_state> self,
                  storage::saga_row row, saga_context ctx) {
  self->state.progress.row = std::move(row);
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "saga", std::to_string(self->state.progress.row.id));
  return {
    [=](pay_atom) {
      self->state.answer = self->make_response_promise<payment_view>();
      if (self->state.progress.row.state == "COMPENSATING")
        resume_compensation(self);
      else
        reserve(self);
      return self->state.answer;
    },
    [=](status_atom) {
      auto& p = self->state.progress;
      nlohmann::json j{{"type", "saga"},          {"id", std::to_string(p.row.id)},
                       {"kind", p.row.kind},      {"reservationId", p.row.reservation_id},
                       {"userId", p.row.user_id}, {"step", p.step},
                       {"history", p.history},    {"mailbox", self->mailbox().size()}};
      return j.dump();
    },
  };
}

} // namespace boxoffice
