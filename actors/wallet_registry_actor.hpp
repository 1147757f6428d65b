#pragma once

#include <caf/typed_event_based_actor.hpp>

#include "actors/booking_config.hpp"
#include "actors/live_actors.hpp"

namespace boxoffice {

// Spawns one wallet actor per user on first use; a wallet that passivates is
// forgotten and spawned afresh on the next request.
struct wallet_registry_state {
  static inline const char* name = "wallet-registry";
  db_actor db;
  booking_config cfg;
  live_actors<wallet_actor> live;
};

wallet_registry_actor::behavior_type
wallet_registry_actor_impl(wallet_registry_actor::stateful_pointer<wallet_registry_state> self,
                           db_actor db, booking_config cfg);

} // namespace boxoffice
