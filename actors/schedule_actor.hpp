#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <vector>

#include "actors/seat_context.hpp"

namespace boxoffice {

// The compact view of one schedule's seats, kept current by its seat actors:
// a seat-map read is answered from here without asking every seat.
struct seat_slot {
  int32_t seat_number = 0;
  int64_t price = 0;
  seat_status status = seat_status::available; // never HOLDING
  int64_t reservation_id = 0;                  // the owner when loaded
  seat_actor actor;                            // spawned on first use
};

struct schedule_state {
  static inline const char* name = "schedule";
  schedule_info info;
  std::vector<seat_slot> seats; // sorted by seat_number
  seat_context ctx;
  uint64_t rejected_from_view = 0;
  int32_t available() const;
  // Nothing for a seat number outside the schedule.
  seat_slot* slot(int32_t seat_number);
};

schedule_actor::behavior_type
schedule_actor_impl(schedule_actor::stateful_pointer<schedule_state> self, seat_context ctx,
                    int64_t schedule_id);

} // namespace boxoffice
