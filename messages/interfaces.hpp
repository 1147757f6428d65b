#pragma once
// Every typed actor interface of boxoffice in one place: who may say what to
// whom. The functions that implement them live in actors/.

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/vocabulary.hpp"
#include "storage/db_pool.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(boxoffice::storage::db_task_ptr)

namespace boxoffice {

using caf::reacts_to;
using caf::replies_to;

// Every long-running actor answers a status request with a JSON object.
using status_iface = caf::typed_actor<replies_to<status_atom>::with<std::string>>;

// Hands blocking libpq work to the storage pool and answers once it is durable.
using db_actor = caf::typed_actor<replies_to<db_atom, storage::db_task_ptr>::with<caf::ok_atom>,
                                  reacts_to<db_atom, uint64_t>>::extend_with<status_iface>;

// One schedule: the compact seat map and the directory of its seat actors.
using schedule_actor = caf::typed_actor<
  replies_to<list_atom>::with<seat_list>,
  replies_to<caf::get_atom>::with<schedule_info>>::extend_with<status_iface>;

// Concerts and their schedules; owns the schedule actors.
using catalogue_actor =
  caf::typed_actor<replies_to<list_atom>::with<concert_list>,
                   replies_to<list_atom, int64_t>::with<schedule_list>,
                   replies_to<caf::get_atom, int64_t, int64_t>::with<schedule_actor>,
                   replies_to<caf::get_atom, int64_t>::with<schedule_actor>>::
    extend_with<status_iface>;

} // namespace boxoffice
