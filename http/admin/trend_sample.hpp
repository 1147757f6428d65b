#pragma once
// The console's rolling window: one sample a second, computed from two
// readings of cumulative figures (HTTP histograms, the waiting room's and the
// dispatcher's counters) taken a second apart. Pure data and arithmetic, so
// the computation is unit-tested without actors or a clock.

#include <array>
#include <caf/settings.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "http/admin/metrics.hpp"

namespace boxoffice::http {

// Requests per second are kept per route and per status class.
inline constexpr std::array<const char*, 4> status_classes = {"2xx", "3xx", "4xx", "5xx"};

// The routes whose 2xx answers are the on-sale's business (router.cpp's labels).
inline constexpr const char* hold_route = "POST /api/v1/reservations";
inline constexpr const char* payment_route = "POST /api/v1/payments";

// Everything the sampler reads in one tick. The statuses are empty when that
// actor did not answer in time (or, for the dispatcher, when none runs).
struct trend_reading {
  std::chrono::steady_clock::time_point taken;
  int64_t wall_ms = 0; // for the chart's time axis
  http_metrics::series_map traffic;
  uint64_t shed = 0; // public requests answered 503 at the in-flight bound
  std::optional<caf::settings> queue;
  std::optional<caf::settings> dispatcher;
  std::optional<caf::settings> actors; // type -> count
};

// One second of the window. Missing values (a silent actor, no data platform,
// no requests on a route) stay empty and draw as gaps, not as zeros.
struct trend_sample {
  int64_t at_ms = 0;
  std::map<std::string, std::array<double, status_classes.size()>> requests_per_second;
  std::map<std::string, double> p50_ms; // routes with requests in this second only
  std::map<std::string, double> p99_ms;
  double shed_per_second = 0;
  double holds_per_second = 0;    // 2xx answers to hold_route
  double payments_per_second = 0; // 2xx answers to payment_route
  std::optional<double> waiting, active, admitted_per_second;
  std::optional<double> outbox_pending, oldest_pending_seconds;
  std::optional<double> deliveries_per_second, failures_per_second;
  std::optional<double> breaker; // 0 closed, 1 half-open, 2 open
  std::map<std::string, double> actors;
};

// The q-quantile (0..1) of a histogram's buckets, in seconds, interpolated
// linearly inside the bucket that holds it (as Prometheus'
// histogram_quantile). Empty when the buckets are. A rank in the +Inf bucket
// reads as the last finite bound.
std::optional<double>
bucket_quantile(const std::array<uint64_t, http_metrics::bounds.size() + 1>& buckets, double q);

// The sample for the interval between two readings. Rates are the counters'
// differences over the real time elapsed; a counter that went backwards (it
// cannot, but a restarted part would) counts as 0.
trend_sample sample_between(const trend_reading& before, const trend_reading& now);

} // namespace boxoffice::http
