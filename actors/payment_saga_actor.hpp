#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <functional>

#include "actors/saga_context.hpp"

namespace boxoffice {

struct payment_saga_state {
  static inline const char* name = "payment-saga";
  saga_context ctx;
  saga_progress progress;
  caf::typed_response_promise<payment_view> answer;
  caf::error failure;          // why it compensates
  std::function<void()> retry; // the step a tick runs again
};

// Drives one payment: reservation HELD -> PAYING, wallet debit, seat SOLD,
// reservation CONFIRMED. Every step is idempotent by (saga id, step), so a
// saga resumed after a crash simply runs again from the start. A failure
// after the debit refunds and releases in reverse order. A compensation step
// that fails is retried with backoff, never abandoned: the saga ends
// COMPENSATED only once the points are back and the reservation is HELD.
payment_saga_actor::behavior_type
payment_saga_actor_impl(payment_saga_actor::stateful_pointer<payment_saga_state> self,
                        storage::saga_row row, saga_context ctx);

} // namespace boxoffice
