#include "http/admin/trend_window.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace boxoffice::http {

namespace {

using json = nlohmann::json;
using window_view = std::deque<trend_sample>::const_iterator;

// Three decimals are plenty for a chart and keep the answer small.
json value(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

json value(const std::optional<double>& v) {
  return v ? value(*v) : json{};
}

// One array over the window from `get` (a sample -> number or optional).
template <class Get> json column(window_view from, window_view to, Get get) {
  auto out = json::array();
  for (auto i = from; i != to; ++i)
    out.push_back(value(get(*i)));
  return out;
}

// {key: [...]} for every key some sample of the window has in `member`;
// a sample without the key gives `missing` (0 for counts, null for latency).
template <class Map>
json keyed(window_view from, window_view to, Map trend_sample::*member, json missing) {
  std::set<std::string> keys;
  for (auto i = from; i != to; ++i)
    for (auto& [k, v] : (*i).*member)
      keys.insert(k);
  auto out = json::object();
  for (auto& k : keys) {
    auto& col = out[k] = json::array();
    for (auto i = from; i != to; ++i) {
      auto& m = (*i).*member;
      auto found = m.find(k);
      col.push_back(found == m.end() ? missing : value(found->second));
    }
  }
  return out;
}

// {route: {"2xx": [...], …}}, only the classes a route had in the window.
json requests(window_view from, window_view to) {
  std::set<std::pair<std::string, size_t>> seen;
  for (auto i = from; i != to; ++i)
    for (auto& [route, per_class] : i->requests_per_second)
      for (size_t c = 0; c < per_class.size(); ++c)
        if (per_class[c] > 0)
          seen.insert({route, c});
  auto out = json::object();
  for (auto& [route, c] : seen) {
    auto& col = out[route][status_classes[c]] = json::array();
    for (auto i = from; i != to; ++i) {
      auto found = i->requests_per_second.find(route);
      col.push_back(found == i->requests_per_second.end() ? value(0.0) : value(found->second[c]));
    }
  }
  return out;
}

} // namespace

void trend_window::push(trend_sample sample) {
  samples_.push_back(std::move(sample));
  while (samples_.size() > capacity_)
    samples_.pop_front();
}

std::string trend_window::render_json(size_t last) const {
  auto n = last == 0 || last > samples_.size() ? samples_.size() : last;
  auto from = samples_.end() - static_cast<std::ptrdiff_t>(n);
  auto to = samples_.end();
  auto t = json::array();
  for (auto i = from; i != to; ++i)
    t.push_back(i->at_ms);
  json j{
    {"intervalMs", trend_interval_ms},
    {"capacity", capacity_},
    {"samples", n},
    {"t", std::move(t)},
    {"requestsPerSecond", requests(from, to)},
    {"shedPerSecond", column(from, to, [](auto& s) { return s.shed_per_second; })},
    {"latencyP50Ms", keyed(from, to, &trend_sample::p50_ms, json{})},
    {"latencyP99Ms", keyed(from, to, &trend_sample::p99_ms, json{})},
    {"holdsPerSecond", column(from, to, [](auto& s) { return s.holds_per_second; })},
    {"paymentsPerSecond", column(from, to, [](auto& s) { return s.payments_per_second; })},
    {"waiting", column(from, to, [](auto& s) { return s.waiting; })},
    {"active", column(from, to, [](auto& s) { return s.active; })},
    {"admittedPerSecond", column(from, to, [](auto& s) { return s.admitted_per_second; })},
    {"outboxPending", column(from, to, [](auto& s) { return s.outbox_pending; })},
    {"oldestPendingSeconds", column(from, to, [](auto& s) { return s.oldest_pending_seconds; })},
    {"deliveriesPerSecond", column(from, to, [](auto& s) { return s.deliveries_per_second; })},
    {"failuresPerSecond", column(from, to, [](auto& s) { return s.failures_per_second; })},
    {"breaker", column(from, to, [](auto& s) { return s.breaker; })},
    {"actors", keyed(from, to, &trend_sample::actors, value(0.0))},
  };
  return j.dump();
}

} // namespace boxoffice::http
