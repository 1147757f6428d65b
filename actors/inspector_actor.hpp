#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <map>
#include <unordered_map>

#include "messages/interfaces.hpp"

namespace boxoffice {

struct inspected {
  std::string type;
  std::string id;
  caf::actor handle;
};

struct inspector_state {
  static inline const char* name = "inspector";
  std::unordered_map<caf::actor_addr, inspected> members;
  std::map<std::pair<std::string, std::string>, caf::actor> by_key;
};

// Found by every actor through the actor system's registry under this name.
constexpr caf::atom_value inspector_name = caf::atom("inspector");

inspector_actor::behavior_type
inspector_actor_impl(inspector_actor::stateful_pointer<inspector_state> self);

// Registers `self` as `type`/`id` with the inspector, if one runs.
void register_inspectable(caf::local_actor* self, const std::string& type, const std::string& id);

} // namespace boxoffice
