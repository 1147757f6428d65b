#pragma once

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/seat_context.hpp"
#include "messages/seat_board.hpp"

namespace boxoffice {

struct seat_state {
  static inline const char* name = "seat";
  int64_t schedule_id = 0;
  int32_t seat_number = 0;
  int64_t price = 0;
  seat_status status = seat_status::available;
  int64_t reservation_id = 0;
  uint64_t holds = 0;
  uint64_t rejected = 0;
  seat_context ctx;
  // The schedule's board and this seat's place on it: every change of the
  // status shows there before the seat answers (may be null in tests).
  seat_board_ptr board;
  size_t position = 0;
  // Passivation: the schedule that spawned it (null in tests), the requests
  // handled so far (the schedule counts those it sent: equal counts mean none
  // is on its way) and when the last one came.
  schedule_actor schedule;
  uint64_t handled = 0;
  caf::actor_clock::time_point last_used; // on the actor clock, which tests move

  void set(seat_status status, int64_t reservation_id);
};

struct seat_init {
  int64_t schedule_id = 0;
  int32_t seat_number = 0;
  int64_t price = 0;
  seat_status status = seat_status::available; // never HOLDING
  int64_t reservation_id = 0;
  seat_board_ptr board;
  size_t position = 0;
  schedule_actor schedule;
};

seat_actor::behavior_type seat_actor_impl(seat_actor::stateful_pointer<seat_state> self,
                                          seat_init init, seat_context ctx);

} // namespace boxoffice
