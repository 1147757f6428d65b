#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>

#include "actors/seat_context.hpp"
#include "messages/seat_board.hpp"

namespace boxoffice {

struct schedule_state {
  static inline const char* name = "schedule";
  schedule_info info;
  // Kept current by the seat actors: a taken seat is refused from here and
  // seat maps are read from here, without asking every seat.
  seat_board_ptr board;
  // Owners of taken seats without a seat actor (at load, or passivated),
  // until the seat's actor starts from its entry and keeps the owner itself.
  std::unordered_map<int32_t, int64_t> owners_at_load;
  // Seat actors exist only for seats someone tried to hold, sell or release,
  // and passivate when idle. `sent` counts the requests sent to each.
  struct live_seat {
    seat_actor actor;
    uint64_t sent = 0;
  };
  std::unordered_map<int32_t, live_seat> seat_actors;
  uint64_t passivated = 0;
  seat_context ctx;
};

schedule_actor::behavior_type
schedule_actor_impl(schedule_actor::stateful_pointer<schedule_state> self, seat_context ctx,
                    int64_t schedule_id);

} // namespace boxoffice
