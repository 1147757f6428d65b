#pragma once
// Fault settings injected into event deliveries, and their JSON form for GET /stats and
// POST /faults. Control endpoints are never subject to faults.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace dpsim {

struct Faults {
  int latency_ms = 0;        // delay before answering an event POST
  bool hang = false;         // read event POSTs but never answer them
  unsigned error_status = 0; // 0 = no injected error
  double error_rate = 1.0;   // fraction of event POSTs that get error_status
  int retry_after = 0;       // seconds for a Retry-After header on injected errors; 0 = none
  int refuse_seconds = 0;    // length of the refusal window under way; 0 = not refusing
  // aggregateId -> status: a permanent failure for one aggregate while the others flow.
  std::map<std::string, unsigned> fail_aggregates;
};

nlohmann::json to_json(const Faults& faults);

// Applies a POST /faults body. Fields not present keep their value; failAggregates, when
// present, replaces the whole map. On invalid input returns the reason and leaves `faults`
// unchanged, so a typo in a test never half-applies.
std::optional<std::string> apply_patch(Faults& faults, const nlohmann::json& patch);

} // namespace dpsim
