#pragma once
// Stand-ins with the interfaces of the wallet registry, the waiting room and
// the dispatcher that pass each request on to whichever node serves it now,
// through the middleman when that is another node. Handles are looked up in
// the cluster map for every request and never kept: the map drops a peer on
// its down message.

#include <caf/typed_event_based_actor.hpp>
#include <memory>

#include "actors/cluster_map.hpp"

namespace boxoffice {

struct router_state {
  static inline const char* name = "router";
  std::shared_ptr<const cluster_map> map;
  uint64_t local = 0;  // requests served by this node
  uint64_t remote = 0; // passed to another node
  uint64_t failed = 0; // no owner known
};

// A wallet lives on the owner of its user's partition.
wallet_registry_actor::behavior_type
wallet_router_impl(wallet_registry_actor::stateful_pointer<router_state> self,
                   wallet_registry_actor local, std::shared_ptr<const cluster_map> map);

// The waiting room lives on the coordinator.
waiting_room_actor::behavior_type
waiting_room_router_impl(waiting_room_actor::stateful_pointer<router_state> self,
                         std::shared_ptr<const cluster_map> map);

// So does the dispatcher: committed rows of any node go there at once (if
// it is unknown for a moment, its outbox scan finds them).
dispatcher_actor::behavior_type
dispatcher_router_impl(dispatcher_actor::stateful_pointer<router_state> self,
                       std::shared_ptr<const cluster_map> map);

} // namespace boxoffice
