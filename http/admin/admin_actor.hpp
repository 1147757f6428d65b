#pragma once
// The operator listener's actor: inspection, outbox operations, metrics and
// the console page. Every data request needs Authorization: Bearer <key>.

#include <caf/typed_event_based_actor.hpp>

#include "actors/lease_actor.hpp"
#include "http/admin/metrics.hpp"
#include "http/admin/trend_recorder.hpp"
#include "http/api.hpp"
#include "http/api/api_actor.hpp"
#include "http/server.hpp"

namespace boxoffice::http {

struct admin_services {
  std::string key;
  db_actor db;
  inspector_actor inspector;
  dispatcher_actor dispatcher; // invalid when no data platform is configured
  waiting_room_actor waiting_room;
  std::shared_ptr<http_metrics> metrics;
  const server* public_server = nullptr;
  trend_recorder_actor trends;
  // Chart.js as read from admin.chart_js at start-up; null when it could not
  // be read (the console then shows its figures without charts).
  std::shared_ptr<const std::string> chart_js;
  // This node's lease keeper, for the cluster gauges in /metrics.
  lease_actor leases;
  // Identity and abuse limits, for their counters in /metrics (may be null).
  std::shared_ptr<const access_policy> access;
};

struct admin_state {
  static inline const char* name = "admin";
  admin_services services;
  bridge_guard guard;
};

using admin_ptr = api_actor::stateful_pointer<admin_state>;

api_actor::behavior_type admin_actor_impl(admin_ptr self, admin_services services);

// The single-file operator console (no build step).
const std::string& console_html();

} // namespace boxoffice::http
