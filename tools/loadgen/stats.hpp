// Run statistics: per-endpoint latency histograms and status counts (one Stats
// per io thread, merged at the end) and run-wide atomic counters for the live
// progress line.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/histogram.hpp"

namespace boxoffice::loadgen {

/// Latencies of every answer so far, for the live progress line: written by
/// every io thread without a lock, read once a second. Same buckets as
/// LogLinearHistogram (within 1.6 %), without min, max or sum.
class LiveLatency {
public:
  LiveLatency() : buckets_(LogLinearHistogram::kBuckets) {}
  void record(std::uint64_t us) {
    buckets_[LogLinearHistogram::bucket_index(us)].fetch_add(1, std::memory_order_relaxed);
  }
  /// Microseconds at percentile p (0 < p < 100); 0 before the first answer.
  std::uint64_t percentile(double p) const;

private:
  std::vector<std::atomic<std::uint64_t>> buckets_;
};

struct Counters {
  using C = std::atomic<std::uint64_t>;
  C requests{0}; // HTTP attempts answered or failed
  C errors{0};   // no HTTP response, or a 5xx that is not load shedding
  C shed{0};     // 429 and 503 answers (retried after Retry-After)
  C fans_started{0};
  C fans_done{0};
  C admitted{0};       // clients whose token became ACTIVE
  C hold_attempts{0};  // POST /reservations answered 201 or 409
  C holds{0};          // 201 answers to POST /reservations
  C hold_conflicts{0}; // 409 answers to POST /reservations
  C hold_limit{0};     // holds: 409 HOLD_LIMIT_REACHED (the client stops)
  C payments{0};       // 201/200 answers to POST /payments
  C insufficient_balance{0};
  C payment_retries{0}; // payment re-sent with the same Idempotency-Key
  C sold_out{0};        // fans that found no AVAILABLE seat
  C gave_up{0};         // fans that stopped on conflicts after --hold-tries holds
  C failed{0};          // fans stopped by an unexpected answer, error or timeout
  C points_charged{0};  // sum of successful charges
  C points_paid{0};     // sum of amounts of completed payments seen by the driver
  C streams_open{0};    // holds --streams: streams whose snapshot arrived
  C streams_dropped{0}; // ... that ended before the run did
  C stream_events{0};   // seat events of held seats read off all streams
  LiveLatency latency;  // every HTTP answer's latency
};

struct EndpointStats {
  LogLinearHistogram latency_us;
  std::map<int, std::uint64_t> statuses; // 0: no HTTP response
  void merge(const EndpointStats& o);
};

/// What one --target saw: its fans and the attempts sent to it.
struct TargetStats {
  std::uint64_t fans = 0;     // fans assigned to it (fan i: target i mod N)
  std::uint64_t requests = 0; // HTTP attempts answered or failed
  std::uint64_t shed = 0;     // 429 and 503 answers
  std::uint64_t errors = 0;   // no HTTP response, or a 5xx that is not load shedding
  void merge(const TargetStats& o);
};

class Stats {
public:
  void record(const std::string& endpoint, int status, std::uint64_t latency_us);
  void record_phase(const std::string& phase, std::uint64_t latency_us);
  /// A hold answered (201/409) at second `sec` of the run.
  void hold_answered(std::size_t sec, bool success);
  /// A 201 hold or payment `ms` milliseconds into the run, counted per
  /// timeline_bucket_ms (the flash crowd's throughput over time).
  void booked_step(bool payment, std::size_t ms);
  static constexpr std::size_t timeline_bucket_ms = 100;
  /// An attempt answered (or failed, status 0) by target `t`.
  void target_answered(std::size_t t, int status);
  /// A fan assigned to target `t` started.
  void target_fan(std::size_t t);
  void merge(const Stats& o);

  std::map<std::string, EndpointStats> endpoints;
  std::map<std::string, LogLinearHistogram> phases;
  std::vector<std::uint64_t> hold_attempts_by_second;
  std::vector<std::uint64_t> holds_by_second;
  std::vector<std::uint64_t> holds_by_bucket;    // 201 holds per timeline bucket
  std::vector<std::uint64_t> payments_by_bucket; // 201 payments per timeline bucket
  std::vector<std::int64_t> booked_reservations; // reservation ids with a 201 payment
  std::vector<TargetStats> targets;              // by --target, in order
};

/// The endpoint table printed after the run.
void print_summary(std::ostream& out, const Stats& stats, double seconds);

/// {name: {count, rps, p50, p95, p99, max, mean, statuses}} with latencies in ms.
nlohmann::ordered_json endpoints_json(const std::map<std::string, EndpointStats>& eps,
                                      double seconds);
nlohmann::ordered_json histogram_json(const LogLinearHistogram& h, double seconds);

} // namespace boxoffice::loadgen
