#pragma once
// What the simulated data platform has received: unique events in arrival order, the keys seen
// (deduplication), the highest sequence per aggregate (order check) and the counters.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dpsim {

struct EventRecord {
  std::string event_id;
  std::string event_type;
  std::string aggregate_type;
  std::string aggregate_id;
  std::optional<std::int64_t> sequence; // absent or non-integer in the body: no order check
  std::string path;
  std::string occurred_at; // as sent
  std::int64_t received_at_ms = 0;
  std::optional<std::int64_t> latency_ms; // received - occurred; absent if occurredAt unparsable
};

struct Counters {
  std::int64_t received = 0; // passed faults and the signature check
  std::int64_t unique = 0;
  std::int64_t duplicates = 0;
  std::int64_t bad_signatures = 0;
  std::int64_t order_violations = 0;
  std::int64_t failed_by_fault = 0;
  std::int64_t bad_requests = 0;   // 400: no idempotency key or unparsable JSON
  std::int64_t key_mismatches = 0; // X-Idempotency-Key differs from the body's eventId
};

class Recorder {
public:
  // Records a delivery that passed every check. Returns true when its key was seen before.
  // Fills in received_at_ms and latency_ms.
  bool record(const std::string& idempotency_key, EventRecord event, std::int64_t now_ms);

  Counters& counters() { return counters_; }
  nlohmann::json stats_json() const;
  nlohmann::json events_json() const;
  void reset();

private:
  Counters counters_;
  std::vector<EventRecord> events_; // unique events, arrival order
  std::unordered_set<std::string> keys_;
  std::unordered_map<std::string, std::int64_t> max_sequence_; // "type\x1fid" -> highest seen
  std::map<std::string, std::int64_t> by_type_;
  std::map<std::string, std::int64_t> by_path_;
};

// Parses ISO-8601 UTC such as 2026-11-25T18:30:00.123Z (fraction optional, "Z" or ±HH:MM)
// into epoch milliseconds.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

std::int64_t now_epoch_ms();

} // namespace dpsim
