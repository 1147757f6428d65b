#pragma once

#include <caf/fwd.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>

#include "actors/db_protocol.hpp"

namespace boxoffice {

struct db_state {
  static inline const char* name = "db";
  storage::db_pool* pool = nullptr;
  uint64_t next_id = 1;
  dispatcher_actor dispatcher; // handed the events each commit carried
  std::unordered_map<uint64_t,
                     std::pair<caf::typed_response_promise<caf::ok_atom>, storage::db_task_ptr>>
    pending;
};

// The only door from actors to the storage threads: a task goes to the pool,
// the pool reports back to this actor, and this actor answers the requester.
db_actor::behavior_type db_actor_impl(db_actor::stateful_pointer<db_state> self,
                                      storage::db_pool* pool);

} // namespace boxoffice
