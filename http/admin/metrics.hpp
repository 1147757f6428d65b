#pragma once
// Request counts and latency histograms per route and status, rendered in the
// Prometheus text format. Written from actor threads, read by the admin
// listener, hence the mutex (this is not entity state).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace boxoffice::http {

class http_metrics {
public:
  static constexpr std::array<double, 12> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  struct histogram {
    std::array<uint64_t, bounds.size() + 1> buckets{}; // last: +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  // (route, status) -> its cumulative histogram since start.
  using series_map = std::map<std::pair<std::string, int>, histogram>;

  void observe(const std::string& route, int status, double seconds);
  // Appends this registry's series to `out`.
  void render(std::string& out) const;
  // A copy of every cumulative histogram, taken under the mutex: the console's
  // sampler computes per-second rates and quantiles from two such copies
  // without holding the lock while it does.
  series_map snapshot() const;

private:
  mutable std::mutex mtx_;
  series_map series_;
};

// One gauge or counter line: name{labels} value.
void prometheus_line(std::string& out, const std::string& name, const std::string& labels,
                     double value);
void prometheus_header(std::string& out, const std::string& name, const char* type,
                       const char* help);

// Every series of an exposition text with one more label first, e.g. the
// node's id, so that the series of several nodes stay apart once scraped.
std::string label_every_series(const std::string& text, const std::string& name,
                               const std::string& value);

} // namespace boxoffice::http
