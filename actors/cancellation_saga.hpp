#pragma once

#include <caf/typed_event_based_actor.hpp>

#include "actors/saga_context.hpp"

namespace boxoffice {

struct cancellation_saga_state {
  static inline const char* name = "cancellation-saga";
  saga_context ctx;
  saga_progress progress;
  caf::typed_response_promise<reservation_view> answer;
  int attempts = 0;
};

// Cancels a confirmed booking: refund the points (once per saga), then
// CONFIRMED -> CANCELLED with the payment REFUNDED, then free the seat. Both
// steps are idempotent; a step that fails is retried, and a saga still
// unfinished at shutdown resumes at the next start.
cancellation_saga_actor::behavior_type
cancellation_saga_impl(cancellation_saga_actor::stateful_pointer<cancellation_saga_state> self,
                       storage::saga_row row, saga_context ctx);

} // namespace boxoffice
