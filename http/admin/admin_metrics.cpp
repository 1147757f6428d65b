// GET /metrics: the HTTP histograms plus gauges gathered from the actors'
// status replies and the database, in the Prometheus text format.
#include <optional>

#include "actors/collect_status.hpp"
#include "actors/db_call.hpp"
#include "actors/log_failure.hpp"
#include "http/admin/admin_actor.hpp"
#include "http/admin/status_json.hpp"
#include "http/error_model.hpp"
#include "storage/admin_queries.hpp"

namespace boxoffice::http {

namespace {

// Longer than the inspector's own deadline for its members, so that its
// summary arrives even when some member does not answer.
constexpr auto status_deadline = std::chrono::seconds(2);

struct gathered {
  caf::settings actors;
  std::optional<caf::settings> dispatcher; // none: not configured or not answering
  std::optional<caf::settings> lease;
  caf::settings queue;
  caf::settings db;
  std::map<std::string, int64_t> sagas;
};

// A missing entry or a non-number reads as 0, as for a silent actor.
double num(const caf::settings& status, const char* key) {
  auto value = caf::get_if(&status, key);
  return value ? status_number(*value) : 0.0;
}

// Nothing for a failed entry ({"error": ...}) or a missing one.
std::optional<caf::settings> answered(const collected_status& collected, const std::string& name) {
  auto i = collected.find(name);
  if (i == collected.end() || i->second.contains("error"))
    return std::nullopt;
  return i->second;
}

std::vector<status_target> status_targets(const admin_services& svc) {
  std::vector<status_target> targets{{"actors", caf::actor_cast<status_iface>(svc.inspector)},
                                     {"queue", caf::actor_cast<status_iface>(svc.waiting_room)},
                                     {"db", caf::actor_cast<status_iface>(svc.db)}};
  if (svc.dispatcher)
    targets.push_back({"dispatcher", caf::actor_cast<status_iface>(svc.dispatcher)});
  if (svc.leases)
    targets.push_back({"lease", caf::actor_cast<status_iface>(svc.leases)});
  return targets;
}

gathered gather(const collected_status& collected) {
  gathered g;
  g.actors = answered(collected, "actors").value_or(caf::settings{});
  g.dispatcher = answered(collected, "dispatcher");
  g.lease = answered(collected, "lease");
  g.queue = answered(collected, "queue").value_or(caf::settings{});
  g.db = answered(collected, "db").value_or(caf::settings{});
  return g;
}

void gauge(std::string& out, const char* name, const char* help, double value) {
  prometheus_header(out, name, "gauge", help);
  prometheus_line(out, name, "", value);
}

// This node's leases.
void render_cluster(std::string& out, const caf::settings& lease) {
  auto line = [&](const char* name, const char* type, const char* help, double value) {
    prometheus_header(out, name, type, help);
    prometheus_line(out, name, "", value);
  };
  line("boxoffice_cluster_partitions_owned", "gauge", "Partitions this node holds leases on.",
       num(lease, "owned"));
  line("boxoffice_cluster_lease_renewals_total", "counter", "Lease renewals that succeeded.",
       num(lease, "renewals"));
  line("boxoffice_cluster_lease_failures_total", "counter",
       "Lease renewals that failed (the database did not answer).", num(lease, "failures"));
  line("boxoffice_cluster_lease_age_seconds", "gauge",
       "Time since the last successful renewal (-0.001 before the first).",
       num(lease, "lastRenewedAgoMs") / 1000.0);
}

std::string render(const gathered& g, const admin_services& svc) {
  std::string out;
  svc.metrics->render(out);
  if (svc.public_server) {
    auto& c = svc.public_server->counters();
    prometheus_header(out, "boxoffice_http_shed_total", "counter",
                      "Requests answered 503 at once because the in-flight bound was reached.");
    prometheus_line(out, "boxoffice_http_shed_total", "", static_cast<double>(c.shed.load()));
    gauge(out, "boxoffice_http_in_flight", "Requests being processed now.",
          static_cast<double>(c.in_flight.load()));
    gauge(out, "boxoffice_http_streams", "Live seat maps (event streams) open now.",
          static_cast<double>(c.streams.load()));
    prometheus_header(out, "boxoffice_http_dropped_streams_total", "counter",
                      "Live seat maps dropped because the reader fell too far behind.");
    prometheus_line(out, "boxoffice_http_dropped_streams_total", "",
                    static_cast<double>(c.dropped_streams.load()));
  }
  prometheus_header(out, "boxoffice_actors", "gauge", "Live inspectable actors by type.");
  if (auto by_type = caf::get_if<caf::settings>(&g.actors, "actors"))
    for (auto& [type, n] : *by_type)
      prometheus_line(out, "boxoffice_actors", "type=\"" + type + "\"", status_number(n));
  prometheus_header(out, "boxoffice_sagas", "gauge", "Sagas by state.");
  for (auto& [state, n] : g.sagas)
    prometheus_line(out, "boxoffice_sagas", "state=\"" + state + "\"", static_cast<double>(n));
  if (g.dispatcher) {
    gauge(out, "boxoffice_outbox_pending", "Events not yet delivered.",
          num(*g.dispatcher, "pending"));
    gauge(out, "boxoffice_outbox_in_flight", "Deliveries under way.",
          num(*g.dispatcher, "inFlight"));
    gauge(out, "boxoffice_outbox_dead", "Dead letters.", num(*g.dispatcher, "dead"));
    gauge(out, "boxoffice_outbox_oldest_pending_seconds", "Age of the oldest pending event.",
          num(*g.dispatcher, "oldestPendingAgeMs") / 1000.0);
    prometheus_header(out, "boxoffice_outbox_delivered_total", "counter",
                      "Events delivered since start.");
    prometheus_line(out, "boxoffice_outbox_delivered_total", "", num(*g.dispatcher, "delivered"));
    auto state = caf::get_or(*g.dispatcher, "breaker", "closed");
    prometheus_header(out, "boxoffice_outbox_breaker_state", "gauge",
                      "Circuit breaker state (1 for the current one).");
    for (auto s : {"closed", "open", "half_open"})
      prometheus_line(out, "boxoffice_outbox_breaker_state", std::string{"state=\""} + s + "\"",
                      state == s ? 1 : 0);
  }
  if (svc.access)
    svc.access->render_metrics(out);
  if (g.lease)
    render_cluster(out, *g.lease);
  gauge(out, "boxoffice_queue_waiting", "Users in the waiting room.", num(g.queue, "waiting"));
  gauge(out, "boxoffice_queue_active", "Users admitted and active.", num(g.queue, "active"));
  prometheus_header(out, "boxoffice_queue_passed_over_total", "counter",
                    "Waiting users passed over at admission because they stopped polling "
                    "(queue.poll_grace_seconds), one per user per tick.");
  prometheus_line(out, "boxoffice_queue_passed_over_total", "", num(g.queue, "passedOverTotal"));
  gauge(out, "boxoffice_db_queued", "Storage tasks waiting for a connection.", num(g.db, "queued"));
  gauge(out, "boxoffice_db_pending", "Storage tasks not yet answered.", num(g.db, "pending"));
  prometheus_header(out, "boxoffice_db_commits_total", "counter", "Transactions committed.");
  prometheus_line(out, "boxoffice_db_commits_total", "", num(g.db, "commits"));
  prometheus_header(out, "boxoffice_db_tasks_total", "counter", "Storage tasks executed.");
  prometheus_line(out, "boxoffice_db_tasks_total", "", num(g.db, "executed"));
  auto node = g.lease ? caf::get_or(*g.lease, "node", std::string{}) : std::string{};
  return node.empty() ? out : label_every_series(out, "node", node);
}

// The saga counts come from the database once the statuses are in.
void count_sagas_and_respond(admin_ptr self, const api_exchange_ptr& ex,
                             std::shared_ptr<gathered> g) {
  auto respond = [self, ex, g] {
    auto r = json_response(200, render(*g, self->state.services));
    r.content_type = "text/plain; version=0.0.4";
    ex->respond(std::move(r));
  };
  db_then(
    self, self->state.services.db,
    [](storage::pg_connection& c) { return storage::saga_counts(c); },
    [g, respond](std::map<std::string, int64_t> m) {
      g->sagas = std::move(m);
      respond();
    },
    [respond](caf::error& err) {
      log_failure_of("metrics: counting sagas", err);
      respond();
    });
}

} // namespace

void render_metrics(admin_ptr self, const api_exchange_ptr& ex) {
  collect_status(self, status_targets(self->state.services), status_deadline,
                 [self, ex](collected_status collected) {
                   count_sagas_and_respond(self, ex, std::make_shared<gathered>(gather(collected)));
                 });
}

} // namespace boxoffice::http
