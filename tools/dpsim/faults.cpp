#include "faults.hpp"

#include <nlohmann/json.hpp>

namespace dpsim {
namespace {

using nlohmann::json;

bool is_status(std::int64_t code) {
  return code >= 100 && code <= 599;
}

// Reads a non-negative integer field; nullopt with `error` set when the value is unusable.
std::optional<int> non_negative_int(const json& value, const char* name, std::string& error) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() > 24 * 3600 * 1000) {
    error = std::string(name) + " must be a non-negative integer";
    return std::nullopt;
  }
  return static_cast<int>(value.get<std::int64_t>());
}

} // namespace

json to_json(const Faults& faults) {
  json fail = json::object();
  for (const auto& [aggregate, status] : faults.fail_aggregates)
    fail[aggregate] = status;
  return {{"latencyMs", faults.latency_ms},     {"hang", faults.hang},
          {"errorStatus", faults.error_status}, {"errorRate", faults.error_rate},
          {"retryAfter", faults.retry_after},   {"refuseSeconds", faults.refuse_seconds},
          {"failAggregates", std::move(fail)}};
}

std::optional<std::string> apply_patch(Faults& faults, const json& patch) {
  if (!patch.is_object())
    return "body must be a JSON object";
  Faults next = faults; // work on a copy: all or nothing
  std::string error;
  for (const auto& [key, value] : patch.items()) {
    if (key == "latencyMs") {
      auto v = non_negative_int(value, "latencyMs", error);
      if (!v)
        return error;
      next.latency_ms = *v;
    } else if (key == "hang") {
      if (!value.is_boolean())
        return "hang must be a boolean";
      next.hang = value.get<bool>();
    } else if (key == "errorStatus") {
      if (!value.is_number_integer() ||
          (value.get<std::int64_t>() != 0 && !is_status(value.get<std::int64_t>())))
        return "errorStatus must be 0 or an HTTP status (100..599)";
      next.error_status = static_cast<unsigned>(value.get<std::int64_t>());
    } else if (key == "errorRate") {
      if (!value.is_number() || value.get<double>() < 0.0 || value.get<double>() > 1.0)
        return "errorRate must be a number in 0..1";
      next.error_rate = value.get<double>();
    } else if (key == "retryAfter") {
      auto v = non_negative_int(value, "retryAfter", error);
      if (!v)
        return error;
      next.retry_after = *v;
    } else if (key == "refuseSeconds") {
      auto v = non_negative_int(value, "refuseSeconds", error);
      if (!v)
        return error;
      next.refuse_seconds = *v;
    } else if (key == "failAggregates") {
      if (!value.is_object())
        return "failAggregates must be an object of aggregateId -> status";
      next.fail_aggregates.clear();
      for (const auto& [aggregate, status] : value.items()) {
        if (!status.is_number_integer() || !is_status(status.get<std::int64_t>()))
          return "failAggregates values must be HTTP statuses (100..599)";
        next.fail_aggregates[aggregate] = static_cast<unsigned>(status.get<std::int64_t>());
      }
    } else {
      return "unknown fault field: " + key;
    }
  }
  faults = std::move(next);
  return std::nullopt;
}

} // namespace dpsim
