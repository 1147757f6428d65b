#include "actors/cancellation_saga.hpp"

#include <nlohmann/json.hpp>

#include "actors/inspector.hpp"

namespace boxoffice {

namespace {

using saga_ptr = cancellation_saga_actor::stateful_pointer<cancellation_saga_state>;

constexpr int max_attempts = 5;

void run(saga_ptr self);

// Retries the whole (idempotent) saga a few times, then leaves it for the
// recovery at next start.
void retry_or_give_up(saga_ptr self, caf::error& err) {
  if (++self->state.attempts >= max_attempts) {
    self->state.answer.deliver(err);
    return self->quit();
  }
  self->delayed_send(self, std::chrono::seconds(1), tick_atom_v);
}

void enter(saga_ptr self, const char* step) {
  self->state.progress.step = step;
  self->state.progress.history.emplace_back(step);
}

void close_booking(saga_ptr self) {
  enter(self, "CANCEL");
  auto row = self->state.progress.row;
  self->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v,
                row.reservation_id)
    .then(
      [self, row](reservation_actor r) {
        self->request(r, saga_step_timeout, refund_atom_v, row.id)
          .then(
            [self](reservation_view view) {
              enter(self, "DONE");
              self->state.answer.deliver(view);
              self->quit();
            },
            [self](caf::error& err) { retry_or_give_up(self, err); });
      },
      [self](caf::error& err) { retry_or_give_up(self, err); });
}

void run(saga_ptr self) {
  enter(self, "REFUND");
  auto row = self->state.progress.row;
  self->request(self->state.ctx.wallets, saga_step_timeout, caf::get_atom_v, row.user_id)
    .then(
      [self, row](wallet_actor w) {
        self->request(w, saga_step_timeout, refund_atom_v, row.id, row.amount)
          .then([self](int64_t) { close_booking(self); },
                [self](caf::error& err) { retry_or_give_up(self, err); });
      },
      [self](caf::error& err) { retry_or_give_up(self, err); });
}

} // namespace

cancellation_saga_actor::behavior_type
cancellation_saga_impl(cancellation_saga_actor::stateful_pointer<cancellation_saga_state> self,
                       storage::saga_row row, saga_context ctx) {
  self->state.progress.row = std::move(row);
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "saga", std::to_string(self->state.progress.row.id));
  return {
    [=](cancel_atom) {
      self->state.answer = self->make_response_promise<reservation_view>();
      run(self);
      return self->state.answer;
    },
    [=](tick_atom) { run(self); },
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
