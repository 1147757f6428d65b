#pragma once

#include <caf/typed_event_based_actor.hpp>

#include "actors/booking_config.hpp"

namespace boxoffice {

struct reservation_state {
  static inline const char* name = "reservation";
  reservation_view view;
  db_actor db;
  catalogue_actor catalogue;
  booking_config cfg;
  // Expiry timers cannot be cancelled: a stale one carries an old generation.
  uint64_t timer_generation = 0;
  caf::timestamp last_used;
};

// Spawned with the state loaded from (or just written to) the database.
reservation_actor::behavior_type
reservation_actor_impl(reservation_actor::stateful_pointer<reservation_state> self,
                       reservation_view view, db_actor db, catalogue_actor catalogue,
                       booking_config cfg);

} // namespace boxoffice
