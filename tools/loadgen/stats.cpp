#include "tools/loadgen/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace boxoffice::loadgen {

void EndpointStats::merge(const EndpointStats& o) {
  latency_us.merge(o.latency_us);
  for (const auto& [code, n] : o.statuses)
    statuses[code] += n;
}

void TargetStats::merge(const TargetStats& o) {
  fans += o.fans;
  requests += o.requests;
  shed += o.shed;
  errors += o.errors;
}

void Stats::target_answered(std::size_t t, int status) {
  if (targets.size() <= t)
    targets.resize(t + 1);
  auto& ts = targets[t];
  ++ts.requests;
  if (status == 429 || status == 503)
    ++ts.shed;
  else if (status == 0 || status >= 500)
    ++ts.errors;
}

void Stats::target_fan(std::size_t t) {
  if (targets.size() <= t)
    targets.resize(t + 1);
  ++targets[t].fans;
}

void Stats::record(const std::string& endpoint, int status, std::uint64_t latency_us) {
  auto& ep = endpoints[endpoint];
  ep.latency_us.record(latency_us);
  ++ep.statuses[status];
}

void Stats::record_phase(const std::string& phase, std::uint64_t latency_us) {
  phases[phase].record(latency_us);
}

void Stats::hold_answered(std::size_t sec, bool success) {
  if (hold_attempts_by_second.size() <= sec) {
    hold_attempts_by_second.resize(sec + 1, 0);
    holds_by_second.resize(sec + 1, 0);
  }
  ++hold_attempts_by_second[sec];
  if (success)
    ++holds_by_second[sec];
}

namespace {

void add_at(std::vector<std::uint64_t>& v, std::size_t i, std::uint64_t n) {
  if (v.size() <= i)
    v.resize(i + 1, 0);
  v[i] += n;
}

void add_all(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& from) {
  for (std::size_t i = 0; i < from.size(); ++i)
    add_at(into, i, from[i]);
}

} // namespace

std::uint64_t LiveLatency::percentile(double p) const {
  std::uint64_t total = 0;
  for (const auto& b : buckets_)
    total += b.load(std::memory_order_relaxed);
  if (total == 0)
    return 0;
  const auto rank = std::max<std::uint64_t>(
    1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank)
      return LogLinearHistogram::bucket_highest(i);
  }
  return 0;
}

void Stats::booked_step(bool payment, std::size_t ms) {
  add_at(payment ? payments_by_bucket : holds_by_bucket, ms / timeline_bucket_ms, 1);
}

void Stats::merge(const Stats& o) {
  for (const auto& [name, ep] : o.endpoints)
    endpoints[name].merge(ep);
  for (const auto& [name, h] : o.phases)
    phases[name].merge(h);
  const auto n = std::max(hold_attempts_by_second.size(), o.hold_attempts_by_second.size());
  hold_attempts_by_second.resize(n, 0);
  holds_by_second.resize(n, 0);
  for (std::size_t i = 0; i < o.hold_attempts_by_second.size(); ++i) {
    hold_attempts_by_second[i] += o.hold_attempts_by_second[i];
    holds_by_second[i] += o.holds_by_second[i];
  }
  add_all(holds_by_bucket, o.holds_by_bucket);
  add_all(payments_by_bucket, o.payments_by_bucket);
  booked_reservations.insert(booked_reservations.end(), o.booked_reservations.begin(),
                             o.booked_reservations.end());
  if (targets.size() < o.targets.size())
    targets.resize(o.targets.size());
  for (std::size_t i = 0; i < o.targets.size(); ++i)
    targets[i].merge(o.targets[i]);
}

namespace {

double ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

std::string statuses_text(const std::map<int, std::uint64_t>& statuses) {
  std::string s;
  for (const auto& [code, n] : statuses) {
    if (!s.empty())
      s += ' ';
    s += (code == 0 ? std::string("ERR") : std::to_string(code)) + ":" + std::to_string(n);
  }
  return s;
}

double round3(double v) {
  return static_cast<double>(static_cast<long long>(v * 1000.0 + 0.5)) / 1000.0;
}

} // namespace

void print_summary(std::ostream& out, const Stats& stats, double seconds) {
  char line[512];
  std::snprintf(line, sizeof line, "%-44s %9s %9s %9s %9s %9s %9s  %s\n", "endpoint", "count",
                "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses (ERR = no response)");
  out << line;
  auto row = [&](const std::string& name, const LogLinearHistogram& h, const std::string& st) {
    std::snprintf(line, sizeof line, "%-44s %9llu %9.1f %9.2f %9.2f %9.2f %9.2f  %s\n",
                  name.c_str(), static_cast<unsigned long long>(h.count()),
                  seconds > 0 ? static_cast<double>(h.count()) / seconds : 0.0,
                  ms(h.percentile(50)), ms(h.percentile(95)), ms(h.percentile(99)), ms(h.max()),
                  st.c_str());
    out << line;
  };
  LogLinearHistogram all;
  std::map<int, std::uint64_t> all_statuses;
  for (const auto& [name, ep] : stats.endpoints) {
    row(name, ep.latency_us, statuses_text(ep.statuses));
    all.merge(ep.latency_us);
    for (const auto& [code, n] : ep.statuses)
      all_statuses[code] += n;
  }
  row("(all requests)", all, statuses_text(all_statuses));
  if (!stats.phases.empty()) {
    out << "phases (not single requests):\n";
    for (const auto& [name, h] : stats.phases)
      row("  " + name, h, "");
  }
}

nlohmann::ordered_json histogram_json(const LogLinearHistogram& h, double seconds) {
  nlohmann::ordered_json j;
  j["count"] = h.count();
  j["rps"] = round3(seconds > 0 ? static_cast<double>(h.count()) / seconds : 0.0);
  j["p50"] = round3(ms(h.percentile(50)));
  j["p95"] = round3(ms(h.percentile(95)));
  j["p99"] = round3(ms(h.percentile(99)));
  j["max"] = round3(ms(h.max()));
  j["mean"] = round3(h.mean() / 1000.0);
  // The whole distribution, for plots: milliseconds at each percentile.
  nlohmann::ordered_json dist = nlohmann::ordered_json::object();
  for (double p : {1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9})
    dist[p == 99.9 ? "99.9" : std::to_string(static_cast<int>(p))] = round3(ms(h.percentile(p)));
  j["percentiles"] = dist;
  return j;
}

nlohmann::ordered_json endpoints_json(const std::map<std::string, EndpointStats>& eps,
                                      double seconds) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, ep] : eps) {
    auto j = histogram_json(ep.latency_us, seconds);
    nlohmann::ordered_json st = nlohmann::ordered_json::object();
    for (const auto& [code, n] : ep.statuses)
      st[std::to_string(code)] = n;
    j["statuses"] = st;
    out[name] = j;
  }
  return out;
}

} // namespace boxoffice::loadgen
