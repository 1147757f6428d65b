#include "http/admin/trend_sample.hpp"

#include <algorithm>

#include "http/admin/status_json.hpp"

namespace boxoffice::http {

namespace {

using buckets_type = std::array<uint64_t, http_metrics::bounds.size() + 1>;

// One route's traffic in the interval, all statuses merged for the latency.
struct route_delta {
  std::array<uint64_t, status_classes.size()> by_class{};
  buckets_type buckets{};
};

uint64_t minus(uint64_t now, uint64_t before) {
  return now > before ? now - before : 0;
}

// 2xx -> 0 … 5xx -> 3; anything else (none is answered) joins its neighbour.
size_t class_index(int status) {
  auto i = status / 100 - 2;
  return static_cast<size_t>(std::clamp(i, 0, static_cast<int>(status_classes.size()) - 1));
}

std::map<std::string, route_delta> traffic_between(const http_metrics::series_map& before,
                                                   const http_metrics::series_map& now) {
  std::map<std::string, route_delta> out;
  for (auto& [key, h] : now) {
    auto prev = before.find(key);
    uint64_t count = prev == before.end() ? h.count : minus(h.count, prev->second.count);
    if (count == 0)
      continue;
    auto& r = out[key.first];
    r.by_class[class_index(key.second)] += count;
    for (size_t i = 0; i < h.buckets.size(); ++i)
      r.buckets[i] +=
        prev == before.end() ? h.buckets[i] : minus(h.buckets[i], prev->second.buckets[i]);
  }
  return out;
}

std::optional<double> field(const std::optional<caf::settings>& status, const char* key) {
  if (!status)
    return std::nullopt;
  auto value = caf::get_if(&*status, key);
  return value ? std::optional{status_number(*value)} : std::nullopt;
}

// (now - before) / seconds for a counter both readings have.
std::optional<double> rate(const std::optional<caf::settings>& before,
                           const std::optional<caf::settings>& now, const char* key,
                           double seconds) {
  auto a = field(before, key);
  auto b = field(now, key);
  if (!a || !b)
    return std::nullopt;
  return std::max(0.0, *b - *a) / seconds;
}

std::optional<double> breaker_level(const std::optional<caf::settings>& dispatcher) {
  if (!dispatcher)
    return std::nullopt;
  auto state = caf::get_or(*dispatcher, "breaker", "closed");
  if (state == "open")
    return 2.0;
  if (state == "half_open")
    return 1.0;
  return 0.0;
}

} // namespace

std::optional<double> bucket_quantile(const buckets_type& buckets, double q) {
  uint64_t total = 0;
  for (auto n : buckets)
    total += n;
  if (total == 0)
    return std::nullopt;
  auto rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0 || static_cast<double>(below + buckets[i]) < rank) {
      below += buckets[i];
      continue;
    }
    if (i == http_metrics::bounds.size())
      return http_metrics::bounds.back();
    double lower = i == 0 ? 0.0 : http_metrics::bounds[i - 1];
    double upper = http_metrics::bounds[i];
    double inside = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
    return lower + (upper - lower) * std::clamp(inside, 0.0, 1.0);
  }
  return http_metrics::bounds.back();
}

trend_sample sample_between(const trend_reading& before, const trend_reading& now) {
  trend_sample s;
  s.at_ms = now.wall_ms;
  std::chrono::duration<double> elapsed = now.taken - before.taken;
  // Ticks are a second apart; a zero interval (never seen) must not divide by 0.
  double seconds = elapsed.count() > 0.001 ? elapsed.count() : 1.0;
  for (auto& [route, delta] : traffic_between(before.traffic, now.traffic)) {
    auto& per_class = s.requests_per_second[route];
    for (size_t c = 0; c < per_class.size(); ++c)
      per_class[c] = static_cast<double>(delta.by_class[c]) / seconds;
    if (auto p50 = bucket_quantile(delta.buckets, 0.5))
      s.p50_ms[route] = *p50 * 1000.0;
    if (auto p99 = bucket_quantile(delta.buckets, 0.99))
      s.p99_ms[route] = *p99 * 1000.0;
  }
  auto ok_rate = [&](const char* route) {
    auto i = s.requests_per_second.find(route);
    return i == s.requests_per_second.end() ? 0.0 : i->second[0];
  };
  s.holds_per_second = ok_rate(hold_route);
  s.payments_per_second = ok_rate(payment_route);
  s.shed_per_second = static_cast<double>(minus(now.shed, before.shed)) / seconds;
  s.waiting = field(now.queue, "waiting");
  s.active = field(now.queue, "active");
  s.admitted_per_second = rate(before.queue, now.queue, "admittedTotal", seconds);
  s.outbox_pending = field(now.dispatcher, "pending");
  if (auto ms = field(now.dispatcher, "oldestPendingAgeMs"))
    s.oldest_pending_seconds = *ms / 1000.0;
  s.deliveries_per_second = rate(before.dispatcher, now.dispatcher, "delivered", seconds);
  auto retried = rate(before.dispatcher, now.dispatcher, "retried", seconds);
  auto dead = rate(before.dispatcher, now.dispatcher, "deadTotal", seconds);
  if (retried && dead)
    s.failures_per_second = *retried + *dead;
  s.breaker = breaker_level(now.dispatcher);
  if (now.actors)
    for (auto& [type, n] : *now.actors)
      s.actors[type] = status_number(n);
  return s;
}

} // namespace boxoffice::http
