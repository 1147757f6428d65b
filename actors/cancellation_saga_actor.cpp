#include "actors/cancellation_saga_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"
#include "messages/errors.hpp"

namespace boxoffice {

namespace {

using saga_ptr = cancellation_saga_actor::stateful_pointer<cancellation_saga_state>;

// The refund step is idempotent and conditional, so it is simply run again
// after a backoff; the saga never gives up while it lives.
void retry_later(saga_ptr self, caf::error& err) {
  auto& st = self->state;
  auto delay = st.progress.next_retry_delay();
  spdlog::warn("cancellation saga {}: {} failed ({}), retrying in {} ms", st.progress.row.id,
               st.progress.step, error_message(err), delay.count());
  self->delayed_send(self, delay, tick_atom_v);
}

void enter(saga_ptr self, const char* step) {
  self->state.progress.enter(step);
}

// The wallet actor caches its balance; the refund was written by the
// reservation actor's transaction, so the wallet re-reads before we answer.
void refresh_wallet(saga_ptr self, reservation_view view) {
  enter(self, "WALLET");
  auto answer = [self, view] {
    enter(self, "DONE");
    self->state.answer.deliver(view);
    self->quit();
  };
  self
    ->request(self->state.ctx.wallets, saga_step_timeout, caf::get_atom_v,
              self->state.progress.row.user_id)
    .then(
      [self, answer](wallet_actor w) {
        self->request(w, saga_step_timeout, load_atom_v)
          .then([answer](int64_t) { answer(); },
                [answer](caf::error& err) {
                  log_failure_of("cancellation saga: wallet re-read (on its next change)", err);
                  answer();
                });
      },
      [answer](caf::error& err) {
        log_failure_of("cancellation saga: finding the wallet to re-read", err);
        answer();
      });
}

void run(saga_ptr self) {
  enter(self, "REFUND");
  auto row = self->state.progress.row;
  self
    ->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v, row.reservation_id)
    .then(
      [self, row](reservation_actor r) {
        self->request(r, saga_step_timeout, refund_atom_v, row.id)
          .then([self](reservation_view view) { refresh_wallet(self, view); },
                [self](caf::error& err) {
                  // The transaction ran and found nothing to cancel: it has
                  // ended the saga (FAILED) in the database already.
                  if (is(err, booking_errc::wrong_state)) {
                    enter(self, "END");
                    self->state.answer.deliver(err);
                    return self->quit();
                  }
                  retry_later(self, err);
                });
      },
      [self](caf::error& err) { retry_later(self, err); });
}

} // namespace

cancellation_saga_actor::behavior_type cancellation_saga_actor_impl(
  cancellation_saga_actor::stateful_pointer<cancellation_saga_state> self, storage::saga_row row,
  saga_context ctx) {
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
    [=](status_atom) { return self->state.progress.status(self->mailbox().size()); },
  };
}

} // namespace boxoffice
