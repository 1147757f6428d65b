#pragma once

#include <caf/typed_event_based_actor.hpp>
#include <random>

#include "actors/booking_config.hpp"

namespace boxoffice {

struct wallet_state {
  static inline const char* name = "wallet";
  int64_t user_id = 0;
  int64_t balance = 0; // mirrors wallets.balance after every commit
  db_actor db;
  booking_config cfg;
  caf::timestamp last_used;
  std::mt19937_64 request_ids{std::random_device{}()}; // names each charge
};

// Loads its balance once, then serialises every change: each runs as one
// conditional write plus a ledger row, and the actor takes no other message
// until it has committed.
wallet_actor::behavior_type wallet_actor_impl(wallet_actor::stateful_pointer<wallet_state> self,
                                              int64_t user_id, db_actor db, booking_config cfg);

} // namespace boxoffice
