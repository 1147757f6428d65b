#include "app.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "signature.hpp"

namespace dpsim {
namespace {

using nlohmann::json;

Reply json_reply(unsigned status, const json& body) {
  Reply reply;
  reply.status = status;
  // Header values and paths can hold any bytes; replace invalid UTF-8 rather than throw.
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

Reply error_reply(unsigned status, const std::string& message) {
  return json_reply(status, {{"ok", false}, {"error", message}});
}

bool is_control_path(const std::string& path) {
  return path == "/stats" || path == "/events" || path == "/faults" || path == "/reset" ||
         path == "/health";
}

// aggregateId is a string in the design; a number still gets a stable string form.
std::string string_form(const json& value) {
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_null())
    return "";
  return value.dump();
}

std::string string_field(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

} // namespace

App::App(const Options& options) : secret_(options.secret) {
  faults_.latency_ms = options.latency_ms;
  faults_.hang = options.hang;
  faults_.error_status = options.error_status;
  faults_.error_rate = options.error_rate;
  faults_.retry_after = options.retry_after;
  faults_.refuse_seconds = options.refuse_seconds;
}

Reply App::handle(const Request& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  const std::string& method = request.method;

  if (method == "POST" && !is_control_path(path))
    return handle_event(request, path);

  if (method == "GET" && path == "/health")
    return json_reply(200, {{"status", "ok"}});
  if (method == "GET" && path == "/stats") {
    json stats = recorder_.stats_json();
    stats["faults"] = to_json(faults_);
    return json_reply(200, stats);
  }
  if (method == "GET" && path == "/events")
    return json_reply(200, recorder_.events_json());
  if (method == "GET" && path == "/faults")
    return json_reply(200, to_json(faults_));
  if (method == "POST" && path == "/faults")
    return change_faults(request.body);
  if (method == "DELETE" && path == "/faults")
    return clear_faults();
  if (method == "POST" && path == "/reset") {
    recorder_.reset();
    return json_reply(200, {{"ok", true}});
  }
  return error_reply(404, "no such endpoint: " + method + " " + path);
}

Reply App::handle_event(const Request& request, const std::string& path) {
  Counters& counters = recorder_.counters();
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  const bool body_ok = body.is_object();
  const std::string aggregate_id = body_ok ? string_form(body.value("aggregateId", json())) : "";

  // Faults come first: a real outage answers before looking at signatures.
  if (faults_.hang) {
    ++counters.failed_by_fault;
    Reply reply;
    reply.hang = true;
    return reply;
  }
  unsigned fault_status = 0;
  if (auto it = faults_.fail_aggregates.find(aggregate_id);
      body_ok && it != faults_.fail_aggregates.end())
    fault_status = it->second;
  else if (faults_.error_status != 0 && roll_error())
    fault_status = faults_.error_status;
  if (fault_status != 0) {
    ++counters.failed_by_fault;
    Reply reply = error_reply(fault_status, "injected fault");
    reply.retry_after = faults_.retry_after;
    reply.delay_ms = faults_.latency_ms;
    return reply;
  }

  Reply reply = [&] {
    if (!secret_.empty() &&
        !(request.signature && signature_matches(secret_, request.body, *request.signature))) {
      ++counters.bad_signatures;
      return error_reply(401, request.signature ? "bad signature" : "missing X-Signature");
    }
    ++counters.received;
    if (!request.idempotency_key || request.idempotency_key->empty()) {
      ++counters.bad_requests;
      return error_reply(400, "missing X-Idempotency-Key");
    }
    if (!body_ok) {
      ++counters.bad_requests;
      return error_reply(400, "body is not a JSON object");
    }

    EventRecord event;
    event.event_id = string_field(body, "eventId");
    if (event.event_id.empty())
      event.event_id = *request.idempotency_key;
    if (event.event_id != *request.idempotency_key)
      ++counters.key_mismatches;
    event.event_type = string_field(body, "eventType");
    if (event.event_type.empty())
      event.event_type = request.event_type_header;
    event.aggregate_type = string_field(body, "aggregateType");
    event.aggregate_id = aggregate_id;
    if (auto it = body.find("sequence"); it != body.end() && it->is_number_integer())
      event.sequence = it->get<std::int64_t>();
    event.path = path;
    event.occurred_at = string_field(body, "occurredAt");

    const bool duplicate =
      recorder_.record(*request.idempotency_key, std::move(event), now_epoch_ms());
    return json_reply(200, {{"ok", true}, {"duplicate", duplicate}});
  }();
  reply.delay_ms = faults_.latency_ms;
  return reply;
}

bool App::roll_error() {
  if (faults_.error_rate >= 1.0)
    return true;
  if (faults_.error_rate <= 0.0)
    return false;
  return std::bernoulli_distribution(faults_.error_rate)(rng_);
}

Reply App::change_faults(const std::string& body) {
  const json patch = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (patch.is_discarded())
    return error_reply(400, "body is not JSON");
  const Faults before = faults_;
  if (auto error = apply_patch(faults_, patch))
    return error_reply(400, *error);

  Reply reply = faults_reply(before);
  if (patch.contains("refuseSeconds")) {
    if (faults_.refuse_seconds > 0)
      reply.refuse_seconds = faults_.refuse_seconds;
    else if (before.refuse_seconds > 0)
      reply.reopen_now = true;
  }
  return reply;
}

Reply App::clear_faults() {
  const Faults before = faults_;
  faults_ = Faults{};
  Reply reply = faults_reply(before);
  reply.reopen_now = before.refuse_seconds > 0;
  return reply;
}

Reply App::faults_reply(const Faults& before) {
  json current = to_json(faults_);
  std::cerr << "dpsim faults: " << current.dump(-1, ' ', false, json::error_handler_t::replace)
            << std::endl;
  Reply reply = json_reply(200, current);
  reply.release_hung = before.hang && !faults_.hang;
  return reply;
}

} // namespace dpsim
