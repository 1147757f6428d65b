#pragma once
// Keeps this process the node it says it is: renews its partition leases
// every third of cluster.lease_seconds on a connection of its own (renewals
// never queue behind booking writes), and notices when a newer incarnation of
// the node has taken over, which must stop this process.

#include <caf/typed_event_based_actor.hpp>
#include <functional>
#include <memory>

#include "messages/interfaces.hpp"
#include "storage/cluster_store.hpp"

namespace boxoffice {

namespace storage {
class pg_connection;
}

using lease_actor = caf::typed_actor<caf::reacts_to<tick_atom>>::extend_with<status_iface>;

struct lease_state {
  static inline const char* name = "lease";
  // Blocking libpq calls: the actor is spawned detached, on its own thread.
  std::shared_ptr<storage::pg_connection> conn;
  storage::node_identity me;
  storage::lease_terms terms;
  std::function<void()> on_superseded;
  int owned = 0;
  int64_t claimed_total = 0;
  uint64_t renewals = 0;
  uint64_t failures = 0;
  int64_t last_renewed_ms = 0;
  std::string last_error;
  bool superseded = false;
};

// Spawn with caf::detached. `on_superseded` runs once, when another process
// has become this node (the runtime then stops this one).
lease_actor::behavior_type lease_actor_impl(lease_actor::stateful_pointer<lease_state> self,
                                            std::shared_ptr<storage::pg_connection> conn,
                                            storage::node_identity me, storage::lease_terms terms,
                                            std::function<void()> on_superseded);

} // namespace boxoffice
