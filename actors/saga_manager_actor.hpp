#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>
#include <unordered_set>

#include "actors/saga_context.hpp"

namespace boxoffice {

struct saga_manager_state {
  static inline const char* name = "sagas";
  saga_context ctx;
  waiting_room_actor waiting_room;
  // Reservations with a saga under way, so a second payment or cancellation
  // of the same reservation is refused instead of racing the first. An entry
  // lives exactly as long as its coordinator (forgotten on its down message,
  // never on a timeout); a null handle holds the place while the saga row is
  // being created. The database guards the same rule with a unique index.
  std::unordered_map<int64_t, caf::actor> busy;
  std::unordered_map<caf::actor_addr, int64_t> reservation_of;
  // Reservations a payment in one transaction holds: user and Idempotency-Key.
  std::unordered_map<int64_t, std::pair<int64_t, std::string>> in_one_commit;
  // Linked coordinators whose exit message has not arrived yet.
  std::unordered_set<caf::actor_addr> coordinators;
  uint64_t started = 0;    // sagas started (payments and cancellations)
  uint64_t one_commit = 0; // payments completed in one transaction, without a saga
  uint64_t completed = 0;  // payments and cancellations completed, either way
  uint64_t failed = 0;
  uint64_t resumed = 0;
  uint64_t sweeps = 0;
};

saga_manager_actor::behavior_type
saga_manager_actor_impl(saga_manager_actor::stateful_pointer<saga_manager_state> self,
                        saga_context ctx, waiting_room_actor waiting_room);

} // namespace boxoffice
