#pragma once
// The bridge between the HTTP server and the actors: one long-lived actor that
// routes each request, asks the owning actors without blocking, and answers
// through the exchange's callback.

#include <caf/typed_event_based_actor.hpp>

#include "actors/active_tokens.hpp"
#include "actors/cluster_map.hpp"
#include "actors/db_protocol.hpp"
#include "actors/schedule_directory.hpp"
#include "http/access/access_policy.hpp"
#include "http/admin/metrics.hpp"
#include "http/api.hpp"
#include "http/api/seat_maps.hpp"
#include "http/api/seat_streams.hpp"
#include "http/bridge_guard.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(boxoffice::http::api_exchange_ptr)

namespace boxoffice::http {

using api_actor = caf::typed_actor<reacts_to<api_exchange_ptr>>;

struct api_services {
  db_actor db;
  catalogue_actor catalogue;
  waiting_room_actor waiting_room;
  reservation_registry_actor reservations;
  wallet_registry_actor wallets;
  saga_manager_actor sagas;
  int64_t min_charge = 1;
  int64_t max_charge = 10'000'000;
  std::shared_ptr<http_metrics> metrics;
  // Restarts of the API and admin bridges, for /health (may be null).
  std::shared_ptr<const std::atomic<uint64_t>> bridge_restarts;
  // Published by the actors for readers on any thread: loaded schedules and
  // their boards, and the active queue tokens. Null ones are asked for.
  std::shared_ptr<const schedule_directory> schedules;
  std::shared_ptr<const active_tokens> passes;
  std::shared_ptr<seat_map_cache> seat_maps;
  // Live seat maps (null: not served).
  std::shared_ptr<seat_streams> streams;
  // Identity (auth.mode) and abuse limits (limits.*); null: anyone may act
  // for any user, unlimited (unit tests).
  std::shared_ptr<access_policy> access;
  // Who owns which partition (null: this node serves everything).
  std::shared_ptr<const cluster_map> cluster;
};

struct api_state {
  static inline const char* name = "api";
  api_services services;
  bridge_guard guard;
};

using api_ptr = api_actor::stateful_pointer<api_state>;

api_actor::behavior_type api_actor_impl(api_ptr self, api_services services);

} // namespace boxoffice::http
