// GET /metrics: the HTTP histograms plus gauges gathered from the actors'
// status replies and the database, in the Prometheus text format.
#include <nlohmann/json.hpp>

#include "actors/db_call.hpp"
#include "http/admin_actor.hpp"
#include "http/error_model.hpp"
#include "storage/admin_queries.hpp"

namespace boxoffice::http {

namespace {

constexpr auto metrics_timeout = std::chrono::seconds(5);

struct gathered {
  nlohmann::json actors = nlohmann::json::object();
  nlohmann::json dispatcher;
  nlohmann::json queue;
  nlohmann::json db;
  std::map<std::string, int64_t> sagas;
};

double num(const nlohmann::json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number() ? i->get<double>() : 0.0;
}

void gauge(std::string& out, const char* name, const char* help, double value) {
  prometheus_header(out, name, "gauge", help);
  prometheus_line(out, name, "", value);
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
  }
  prometheus_header(out, "boxoffice_actors", "gauge", "Live inspectable actors by type.");
  if (g.actors.contains("actors"))
    for (auto& [type, n] : g.actors["actors"].items())
      prometheus_line(out, "boxoffice_actors", "type=\"" + type + "\"", n.get<double>());
  prometheus_header(out, "boxoffice_sagas", "gauge", "Sagas by state.");
  for (auto& [state, n] : g.sagas)
    prometheus_line(out, "boxoffice_sagas", "state=\"" + state + "\"", static_cast<double>(n));
  if (!g.dispatcher.is_null()) {
    gauge(out, "boxoffice_outbox_pending", "Events not yet delivered.", num(g.dispatcher, "pending"));
    gauge(out, "boxoffice_outbox_in_flight", "Deliveries under way.", num(g.dispatcher, "inFlight"));
    gauge(out, "boxoffice_outbox_dead", "Dead letters.", num(g.dispatcher, "dead"));
    gauge(out, "boxoffice_outbox_oldest_pending_seconds", "Age of the oldest pending event.",
          num(g.dispatcher, "oldestPendingAgeMs") / 1000.0);
    prometheus_header(out, "boxoffice_outbox_delivered_total", "counter",
                      "Events delivered since start.");
    prometheus_line(out, "boxoffice_outbox_delivered_total", "", num(g.dispatcher, "delivered"));
    auto state = g.dispatcher.value("breaker", std::string{"closed"});
    prometheus_header(out, "boxoffice_outbox_breaker_state", "gauge",
                      "Circuit breaker state (1 for the current one).");
    for (auto s : {"closed", "open", "half_open"})
      prometheus_line(out, "boxoffice_outbox_breaker_state", std::string{"state=\""} + s + "\"",
                      state == s ? 1 : 0);
  }
  gauge(out, "boxoffice_queue_waiting", "Users in the waiting room.", num(g.queue, "waiting"));
  gauge(out, "boxoffice_queue_active", "Users admitted and active.", num(g.queue, "active"));
  gauge(out, "boxoffice_db_queued", "Storage tasks waiting for a connection.", num(g.db, "queued"));
  gauge(out, "boxoffice_db_pending", "Storage tasks not yet answered.", num(g.db, "pending"));
  prometheus_header(out, "boxoffice_db_commits_total", "counter", "Transactions committed.");
  prometheus_line(out, "boxoffice_db_commits_total", "", num(g.db, "commits"));
  prometheus_header(out, "boxoffice_db_tasks_total", "counter", "Storage tasks executed.");
  prometheus_line(out, "boxoffice_db_tasks_total", "", num(g.db, "executed"));
  return out;
}

nlohmann::json parse(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  return j.is_discarded() ? nlohmann::json{} : j;
}

} // namespace

void render_metrics(admin_ptr self, const api_exchange_ptr& ex) {
  auto g = std::make_shared<gathered>();
  auto& svc = self->state.services;
  auto finish = [self, ex, g] {
    auto r = json_response(200, render(*g, self->state.services));
    r.content_type = "text/plain; version=0.0.4";
    ex->respond(std::move(r));
  };
  auto sagas = [self, g, finish] {
    db_then(
      self, self->state.services.db,
      [](storage::pg_connection& c) { return storage::saga_counts(c); },
      [g, finish](std::map<std::string, int64_t> m) {
        g->sagas = std::move(m);
        finish();
      },
      [finish](caf::error&) { finish(); });
  };
  auto db = [self, g, sagas] {
    self->request(self->state.services.db, metrics_timeout, status_atom_v)
      .then([g, sagas](std::string s) { g->db = parse(s); sagas(); },
            [sagas](caf::error&) { sagas(); });
  };
  auto queue = [self, g, db] {
    self->request(self->state.services.waiting_room, metrics_timeout, status_atom_v)
      .then([g, db](std::string s) { g->queue = parse(s); db(); },
            [db](caf::error&) { db(); });
  };
  auto dispatcher = [self, g, queue] {
    auto& d = self->state.services.dispatcher;
    if (!d)
      return queue();
    self->request(d, metrics_timeout, status_atom_v)
      .then([g, queue](std::string s) { g->dispatcher = parse(s); queue(); },
            [queue](caf::error&) { queue(); });
  };
  self->request(svc.inspector, metrics_timeout, caf::get_atom_v)
    .then([g, dispatcher](std::string s) { g->actors = parse(s); dispatcher(); },
          [dispatcher](caf::error&) { dispatcher(); });
}

} // namespace boxoffice::http
