#pragma once
// Any node is a front door: a request for a schedule, reservation or wallet
// whose partition another node owns is forwarded to that node's node actor
// through the middleman, served there by its own api bridges, and answered
// here as if it had been served here. The waiting room's routes go to the
// coordinator (the owner of partition 0).

#include <functional>

#include "http/api/api_actor.hpp"
#include "http/router.hpp"

namespace boxoffice::http {

// True when the request was forwarded or refused (503 while its partition
// has no reachable owner); false when this node serves it.
bool forward_if_foreign(api_ptr self, const route_match& m, const api_exchange_ptr& ex);

struct node_state {
  static inline const char* name = "node";
  std::shared_ptr<const cluster_map> map;
  // Hands a request to this node's api bridges (as the listener does).
  std::function<void(api_exchange_ptr)> submit;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, caf::typed_response_promise<forwarded_response>> pending;
  uint64_t served = 0;
};

// Published on cluster.port for the other nodes.
node_actor::behavior_type node_actor_impl(node_actor::stateful_pointer<node_state> self,
                                          std::shared_ptr<const cluster_map> map,
                                          std::function<void(api_exchange_ptr)> submit);

} // namespace boxoffice::http
