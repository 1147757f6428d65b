#include "http/admin/admin_actor.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "actors/db_call.hpp"
#include "http/admin/status_json.hpp"
#include "http/error_model.hpp"
#include "http/router.hpp"
#include "storage/admin_queries.hpp"
#include "storage/cluster_store.hpp"

namespace boxoffice::http {

namespace {

constexpr auto admin_timeout = std::chrono::seconds(10);

using digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

digest sha256(const std::string& text) {
  digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

// Compares digests in constant time: how long the check takes tells nothing
// about how much of a guessed key was right, nor about the key's length.
bool authorized(const admin_services& svc, const api_request& req) {
  if (svc.key.empty())
    return false;
  auto expected = sha256("Bearer " + svc.key);
  auto given = sha256(req.authorization);
  return CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

// Which row an entity's database side is: a table and its key.
struct entity_row_key {
  storage::entity_table table;
  int64_t id = 0;
  int64_t seat_number = 0; // seats only
};

// Nothing for an unknown type or a malformed id. A seat's id is
// "{scheduleId}/{seatNumber}".
std::optional<entity_row_key> row_key(const std::string& type, const std::string& id) {
  auto table = storage::entity_table_of(type);
  if (!table)
    return std::nullopt;
  entity_row_key key{*table};
  if (*table != storage::entity_table::seat)
    return parse_id(id, key.id) ? std::optional{key} : std::nullopt;
  auto slash = id.find('/');
  if (slash == std::string::npos || !parse_id(id.substr(0, slash), key.id) ||
      !parse_id(id.substr(slash + 1), key.seat_number))
    return std::nullopt;
  return key;
}

void entity(admin_ptr self, const api_exchange_ptr& ex, const std::string& rest) {
  auto slash = rest.find('/');
  if (slash == std::string::npos)
    return ex->respond(error_response(404, "NOT_FOUND", "use /admin/actors/{type}/{id}"));
  auto type = rest.substr(0, slash);
  auto id = rest.substr(slash + 1);
  auto key = row_key(type, id);
  if (!key)
    return ex->respond(error_response(400, "INVALID_ARGUMENT", "unknown type or malformed id"));
  self->request(self->state.services.inspector, admin_timeout, caf::get_atom_v, type, id)
    .then(
      [self, ex, type, id, key = *key](caf::settings memory) {
        db_then(
          self, self->state.services.db,
          [key](storage::pg_connection& c) {
            return storage::entity_row_json(c, key.table, key.id, key.seat_number);
          },
          [ex, type, id, memory](std::string row) {
            // Empty: no such actor is live.
            auto memory_json = memory.empty() ? nlohmann::json{} : status_json(memory);
            nlohmann::json j{{"type", type},
                             {"id", id},
                             {"memory", std::move(memory_json)},
                             {"database", nlohmann::json::parse(row, nullptr, false)}};
            ex->respond(json_response(200, render_json(j)));
          },
          fail_with(ex));
      },
      fail_with(ex));
}

void sagas(admin_ptr self, const api_exchange_ptr& ex) {
  std::string state{query_param(ex->request.query, "state")};
  for (char c : state)
    if (c < 'A' || c > 'Z')
      return ex->respond(error_response(400, "INVALID_ARGUMENT", "state must be a saga state"));
  db_then(
    self, self->state.services.db,
    [state](storage::pg_connection& c) { return storage::sagas_json(c, state); },
    [ex](std::string json) { ex->respond(json_response(200, json)); }, fail_with(ex));
}

// Nodes, partitions, owners, epochs and lease times, as the database holds them.
void cluster(admin_ptr self, const api_exchange_ptr& ex) {
  db_then(
    self, self->state.services.db,
    [](storage::pg_connection& c) { return storage::cluster_json(c); },
    [ex](std::string json) { ex->respond(json_response(200, json)); }, fail_with(ex));
}

void outbox(admin_ptr self, const api_exchange_ptr& ex) {
  auto& d = self->state.services.dispatcher;
  if (!d)
    return ex->respond(error_response(404, "NOT_FOUND", "no data platform is configured"));
  self->request(d, admin_timeout, status_atom_v)
    .then(
      [self, ex, d](caf::settings status) {
        self->request(d, admin_timeout, list_atom_v)
          .then(
            [ex, status = render_json(status_json(status))](std::string dead) {
              ex->respond(
                json_response(200, "{\"status\":" + status + ",\"deadLetters\":" + dead + "}"));
            },
            fail_with(ex));
      },
      fail_with(ex));
}

void replay(admin_ptr self, const api_exchange_ptr& ex, const std::string& rest) {
  auto& d = self->state.services.dispatcher;
  int64_t id = 0;
  if (!d)
    return ex->respond(error_response(404, "NOT_FOUND", "no data platform is configured"));
  if (!rest.empty() && !parse_id(rest, id))
    return ex->respond(error_response(400, "INVALID_ARGUMENT", "malformed outbox row id"));
  self->request(d, admin_timeout, replay_atom_v, id)
    .then(
      [ex](int64_t n) {
        ex->respond(json_response(200, render_json(nlohmann::json{{"replayed", n}})));
      },
      fail_with(ex));
}

void status_of(admin_ptr self, const api_exchange_ptr& ex, const status_iface& target) {
  self->request(target, admin_timeout, status_atom_v)
    .then(
      [ex](caf::settings& status) {
        ex->respond(json_response(200, render_json(status_json(status))));
      },
      fail_with(ex));
}

// GET /admin/trends?seconds=N: the sampler's window (the newest N samples).
void trends(admin_ptr self, const api_exchange_ptr& ex) {
  auto& recorder = self->state.services.trends;
  if (!recorder)
    return ex->respond(error_response(404, "NOT_FOUND", "no trend recorder runs"));
  int64_t seconds = 0;
  auto given = query_param(ex->request.query, "seconds");
  if (!given.empty() && !parse_id(given, seconds))
    return ex->respond(
      error_response(400, "INVALID_ARGUMENT", "seconds must be a positive integer"));
  self->request(recorder, admin_timeout, caf::get_atom_v, seconds)
    .then([ex](std::string& json) { ex->respond(json_response(200, std::move(json))); },
          fail_with(ex));
}

// The library is public code and a <script src> cannot send the key, so it
// is served without one, like the page itself. From memory: it was read once
// at start-up, never per request on this thread.
void chart_library(admin_ptr self, const api_exchange_ptr& ex) {
  auto& js = self->state.services.chart_js;
  if (!js)
    return ex->respond(
      error_response(404, "NOT_FOUND", "Chart.js was not found at admin.chart_js"));
  api_response r;
  r.shared_body = js;
  r.content_type = "text/javascript; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "max-age=3600");
  ex->respond(std::move(r));
}

} // namespace

void render_metrics(admin_ptr self, const api_exchange_ptr& ex);

void dispatch_admin(admin_ptr self, const api_exchange_ptr& ex) {
  auto& req = ex->request;
  auto& path = req.path;
  if (req.method == "GET" && (path == "/admin/" || path == "/admin")) {
    auto r = json_response(200, console_html());
    r.content_type = "text/html; charset=utf-8";
    return ex->respond(std::move(r));
  }
  if (req.method == "GET" && path == "/admin/chart.js")
    return chart_library(self, ex);
  if (!authorized(self->state.services, req)) {
    auto r = error_response(401, "UNAUTHORIZED", "Authorization: Bearer <admin.key> required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return ex->respond(std::move(r));
  }
  auto starts = [&](const char* prefix) { return path.rfind(prefix, 0) == 0; };
  auto& svc = self->state.services;
  if (req.method == "GET" && path == "/metrics")
    return render_metrics(self, ex);
  if (req.method == "GET" && path == "/admin/actors")
    return status_of(self, ex, caf::actor_cast<status_iface>(svc.inspector));
  if (req.method == "GET" && starts("/admin/actors/"))
    return entity(self, ex, path.substr(std::strlen("/admin/actors/")));
  if (req.method == "GET" && path == "/admin/sagas")
    return sagas(self, ex);
  if (req.method == "GET" && path == "/admin/cluster")
    return cluster(self, ex);
  if (req.method == "GET" && path == "/admin/outbox")
    return outbox(self, ex);
  if (req.method == "POST" && path == "/admin/outbox/replay")
    return replay(self, ex, "");
  if (req.method == "POST" && starts("/admin/outbox/replay/"))
    return replay(self, ex, path.substr(std::strlen("/admin/outbox/replay/")));
  if (req.method == "GET" && path == "/admin/trends")
    return trends(self, ex);
  if (req.method == "GET" && path == "/admin/queue")
    return status_of(self, ex, caf::actor_cast<status_iface>(svc.waiting_room));
  ex->respond(error_response(404, "NOT_FOUND", "no such admin resource"));
}

api_actor::behavior_type admin_actor_impl(admin_ptr self, admin_services services) {
  self->state.services = std::move(services);
  install_exception_handler(self, "admin", &self->state.guard);
  return {
    [=](const api_exchange_ptr& ex) {
      dispatch_guarded("admin", self->state.guard, ex, [&] { dispatch_admin(self, ex); });
    },
  };
}

} // namespace boxoffice::http
