#pragma once
// Every request about one reservation starts the same way: ask the registry for
// the reservation's actor (loading it from the database if it is not running),
// then ask that actor for its current view.

#include <caf/typed_event_based_actor.hpp>
#include <cstdint>

#include "messages/interfaces.hpp"

namespace boxoffice {

// Calls on_view(actor, view), or on_error(caf::error&) when either step fails.
template <class Self, class Timeout, class OnView, class OnError>
void ask_reservation(Self* self, const reservation_registry_actor& registry, int64_t reservation_id,
                     Timeout timeout, OnView on_view, OnError on_error) {
  self->request(registry, timeout, caf::get_atom_v, reservation_id)
    .then(
      [self, timeout, on_view, on_error](reservation_actor r) {
        self->request(r, timeout, caf::get_atom_v)
          .then([r, on_view](reservation_view& view) { on_view(r, std::move(view)); }, on_error);
      },
      on_error);
}

} // namespace boxoffice
