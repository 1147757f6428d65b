#pragma once

#include <caf/typed_event_based_actor.hpp>

#include "actors/saga_context.hpp"

namespace boxoffice {

struct cancellation_saga_state {
  static inline const char* name = "cancellation-saga";
  saga_context ctx;
  saga_progress progress;
  caf::typed_response_promise<reservation_view> answer;
};

// Cancels a confirmed booking in one transaction (the reservation actor's
// refund step): payment COMPLETED -> REFUNDED, the points back, CONFIRMED ->
// CANCELLED and the saga's end, all conditioned on the payment, so however
// often it runs the booking is refunded once. Then the seat is freed and the
// wallet actor re-reads its balance. A step that fails is retried with
// backoff for as long as the saga lives; one unfinished at shutdown resumes
// at the next start (or from the sweeper).
cancellation_saga_actor::behavior_type cancellation_saga_actor_impl(
  cancellation_saga_actor::stateful_pointer<cancellation_saga_state> self, storage::saga_row row,
  saga_context ctx);

} // namespace boxoffice
