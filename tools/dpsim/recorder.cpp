#include "recorder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

namespace dpsim {
namespace {

using nlohmann::json;

constexpr std::size_t kLastEvents = 20;

json to_json(const EventRecord& e) {
  return {{"eventId", e.event_id},
          {"eventType", e.event_type},
          {"aggregateType", e.aggregate_type},
          {"aggregateId", e.aggregate_id},
          {"sequence", e.sequence ? json(*e.sequence) : json(nullptr)},
          {"path", e.path},
          {"occurredAt", e.occurred_at},
          {"receivedAtMs", e.received_at_ms},
          {"latencyMs", e.latency_ms ? json(*e.latency_ms) : json(nullptr)}};
}

// Nearest-rank percentile of an ascending list.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Reads exactly `count` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t count) {
  if (pos + count > s.size())
    return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c)
    return false;
  ++pos;
  return true;
}

} // namespace

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  std::size_t pos = 0;
  auto year = digits(s, pos, 4);
  if (!year || !expect(s, pos, '-'))
    return std::nullopt;
  auto month = digits(s, pos, 2);
  if (!month || !expect(s, pos, '-'))
    return std::nullopt;
  auto day = digits(s, pos, 2);
  if (!day || !(expect(s, pos, 'T') || expect(s, pos, 't')))
    return std::nullopt;
  auto hour = digits(s, pos, 2);
  if (!hour || !expect(s, pos, ':'))
    return std::nullopt;
  auto minute = digits(s, pos, 2);
  if (!minute || !expect(s, pos, ':'))
    return std::nullopt;
  auto second = digits(s, pos, 2);
  if (!second)
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60)
    return std::nullopt;

  std::int64_t millis = 0;
  if (expect(s, pos, '.')) {
    // Keep the first three fraction digits; finer precision does not matter for latency.
    std::size_t read = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (read < 3)
        millis = millis * 10 + (s[pos] - '0');
      ++read;
      ++pos;
    }
    if (read == 0)
      return std::nullopt;
    for (; read < 3; ++read)
      millis *= 10;
  }

  std::int64_t offset_minutes = 0;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos++] == '-' ? -1 : 1;
    auto oh = digits(s, pos, 2);
    if (!oh || !expect(s, pos, ':'))
      return std::nullopt;
    auto om = digits(s, pos, 2);
    if (!om)
      return std::nullopt;
    offset_minutes = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;

  const std::int64_t days =
    days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  const std::int64_t seconds =
    days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::int64_t now_epoch_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool Recorder::record(const std::string& idempotency_key, EventRecord event, std::int64_t now_ms) {
  if (!keys_.insert(idempotency_key).second) {
    ++counters_.duplicates;
    return true;
  }
  ++counters_.unique;

  // Only unique events take part in the order check: a redelivery of an old event is expected
  // under at-least-once and is already counted as a duplicate.
  if (event.sequence) {
    const std::string aggregate = event.aggregate_type + '\x1f' + event.aggregate_id;
    auto [it, inserted] = max_sequence_.try_emplace(aggregate, *event.sequence);
    if (!inserted) {
      if (*event.sequence < it->second)
        ++counters_.order_violations;
      it->second = std::max(it->second, *event.sequence);
    }
  }

  event.received_at_ms = now_ms;
  if (auto occurred = parse_iso8601_ms(event.occurred_at))
    event.latency_ms = now_ms - *occurred;
  ++by_type_[event.event_type];
  ++by_path_[event.path];
  events_.push_back(std::move(event));
  return false;
}

json Recorder::stats_json() const {
  std::vector<std::int64_t> latencies;
  latencies.reserve(events_.size());
  for (const auto& e : events_)
    if (e.latency_ms)
      latencies.push_back(*e.latency_ms);
  std::sort(latencies.begin(), latencies.end());

  json last = json::array();
  const std::size_t first = events_.size() > kLastEvents ? events_.size() - kLastEvents : 0;
  for (std::size_t i = first; i < events_.size(); ++i)
    last.push_back(to_json(events_[i]));

  return {{"received", counters_.received},
          {"unique", counters_.unique},
          {"duplicates", counters_.duplicates},
          {"badSignatures", counters_.bad_signatures},
          {"orderViolations", counters_.order_violations},
          {"failedByFault", counters_.failed_by_fault},
          {"badRequests", counters_.bad_requests},
          {"keyMismatches", counters_.key_mismatches},
          {"byType", by_type_},
          {"byPath", by_path_},
          {"latencyMs",
           {{"p50", percentile(latencies, 0.50)},
            {"p99", percentile(latencies, 0.99)},
            {"max", latencies.empty() ? 0 : latencies.back()},
            {"count", latencies.size()}}},
          {"last", std::move(last)}};
}

json Recorder::events_json() const {
  json events = json::array();
  for (const auto& e : events_)
    events.push_back(to_json(e));
  return {{"events", std::move(events)}};
}

void Recorder::reset() {
  *this = Recorder{};
}

} // namespace dpsim
