#pragma once
// Keeps this process the node it says it is: renews its partition leases
// every third of cluster.lease_seconds on a connection of its own (renewals
// never queue behind booking writes), and notices when a newer incarnation of
// the node has taken over (or the others expelled it), which must stop this
// process. After each renewal it publishes the partition map and connects to
// the nodes that own partitions, through the middleman (blocking calls: it
// runs detached).

#include <caf/typed_event_based_actor.hpp>
#include <functional>
#include <memory>

#include "actors/cluster_map.hpp"
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
  std::shared_ptr<cluster_map> map;
  std::function<void()> on_renewed;
  int owned = 0;
  int64_t expelled_total = 0;
  uint64_t peer_failures = 0;
  int64_t claimed_total = 0;
  uint64_t renewals = 0;
  uint64_t failures = 0;
  int64_t last_renewed_ms = 0;
  std::string last_error;
  bool superseded = false;
};

// What the lease actor works with besides its connection.
struct lease_duties {
  storage::node_identity me;
  storage::lease_terms terms;
  std::shared_ptr<cluster_map> map;
  // Runs once, when another process has become this node or the others
  // expelled it (the runtime then stops this one).
  std::function<void()> on_superseded;
  // Runs after every renewal, with the map current (the runtime takes up
  // the coordinator's duties when partition 0 has come to this node).
  std::function<void()> on_renewed;
};

// Spawn with caf::detached.
lease_actor::behavior_type lease_actor_impl(lease_actor::stateful_pointer<lease_state> self,
                                            std::shared_ptr<storage::pg_connection> conn,
                                            lease_duties duties);

} // namespace boxoffice
