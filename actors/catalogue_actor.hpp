#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <map>
#include <unordered_map>

#include "actors/seat_context.hpp"

namespace boxoffice {

struct catalogue_state {
  static inline const char* name = "catalogue";
  seat_context ctx;
  concert_list concerts;
  std::map<int64_t, schedule_list> schedules_by_concert;
  std::unordered_map<int64_t, int64_t> concert_of_schedule;
  std::unordered_map<int64_t, schedule_actor> schedule_actors;

  // Spawns the schedule actor on first use; it loads its seats itself.
  schedule_actor schedule(caf::local_actor* self, int64_t schedule_id);
};

// Loads the concerts and schedules once (the catalogue does not change while
// the server runs) and spawns schedule actors lazily.
catalogue_actor::behavior_type
catalogue_actor_impl(catalogue_actor::stateful_pointer<catalogue_state> self, seat_context ctx);

} // namespace boxoffice
