#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>
#include <vector>

#include "actors/booking_config.hpp"
#include "actors/live_actors.hpp"

namespace boxoffice {

struct reservation_registry_state {
  static inline const char* name = "reservation-registry";
  db_actor db;
  catalogue_actor catalogue;
  booking_config cfg;
  live_actors<reservation_actor> live;
  // Requests waiting for the same reservation to load.
  std::unordered_map<int64_t, std::vector<caf::typed_response_promise<reservation_actor>>> loading;
  uint64_t loaded = 0;
};

// Finds reservation actors, spawning them from the database on first use, and
// at start-up re-arms every live hold so expiry survives restarts.
reservation_registry_actor::behavior_type reservation_registry_actor_impl(
  reservation_registry_actor::stateful_pointer<reservation_registry_state> self, db_actor db,
  catalogue_actor catalogue, booking_config cfg);

} // namespace boxoffice
