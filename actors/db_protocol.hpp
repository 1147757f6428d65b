#pragma once
// The protocol of the db actor: the one door from actors to the storage
// threads. It lives here, beside the actor, rather than in messages/, because
// it carries a storage task (a local-only pointer, never serialised).

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/interfaces.hpp"
#include "storage/db_pool.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(boxoffice::storage::db_task_ptr)

namespace boxoffice {

// Hands blocking libpq work to the storage pool and answers once it is
// durable; hands the dispatcher the events each commit carried.
using db_actor = caf::typed_actor<replies_to<db_atom, storage::db_task_ptr>::with<caf::ok_atom>,
                                  reacts_to<db_atom, uint64_t>,
                                  reacts_to<dispatcher_actor>>::extend_with<status_iface>;

} // namespace boxoffice
