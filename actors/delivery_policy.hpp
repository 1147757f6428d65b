#pragma once
// Resilience policy for event delivery to the data platform: retry delays, outcome
// classification and a circuit breaker per destination. Pure logic: no I/O, no actors and no
// clock of its own (callers pass `now`), so every decision is deterministic under test.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace boxoffice {

// Exponential backoff with full jitter: delay(attempt) is uniform in [0, min(cap, base *
// 2^attempt)]. A server's Retry-After is a floor (itself capped at max_retry_after, so a hostile or
// broken server cannot park a destination for hours).
class backoff {
public:
  static constexpr std::chrono::milliseconds max_retry_after{std::chrono::minutes{10}};

  backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed);

  // `attempt` counts failures so far, starting at 0 (negative values count as 0).
  std::chrono::milliseconds delay(int attempt,
                                  std::optional<std::chrono::seconds> retry_after = std::nullopt);

  // Upper bound of the jitter range for `attempt`: min(cap, base * 2^attempt), without overflow.
  std::chrono::milliseconds bound(int attempt) const;

private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_; // its output sequence is fixed by the standard: same seed, same delays
};

enum class delivery_outcome { delivered, retry, dead };

// 2xx: delivered. 408, 429, 5xx and transport failures (status 0 or a non-empty transport error):
// retry. Every other status (other 4xx, 1xx, 3xx, anything unknown): dead letter at once.
delivery_outcome classify(int status, const std::string& transport_error);

const char* to_string(delivery_outcome outcome);

struct circuit_breaker_config {
  int window = 20;          // calls in the sliding window (must be full to open)
  int failure_percent = 50; // opens when failures * 100 >= percent * window
  std::chrono::milliseconds open_for{std::chrono::seconds{30}};
  int half_open_probes = 3; // successes needed to close again
};

enum class breaker_state { closed, open, half_open };

const char* to_string(breaker_state state);

// Closed: every call allowed; results fill a sliding window of the last `window` calls; once the
// window is full and the failure share reaches `failure_percent`, the breaker opens.
// Open: calls rejected until `open_for` has elapsed; the next allow() moves to half-open.
// Half-open: at most `half_open_probes` calls are let through; `half_open_probes` successes close
// the breaker (with an empty window), any failure reopens it for another `open_for`.
//
// Results are reported with record() for every call that allow() let through. Results arriving
// while open, or in half-open when no probe is outstanding, belong to calls started before the
// breaker opened and are ignored.
class circuit_breaker {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  explicit circuit_breaker(circuit_breaker_config config = {});

  bool allow(time_point now);
  void record(bool success, time_point now);

  breaker_state state() const { return state_; }
  std::string state_name() const { return to_string(state_); }
  const circuit_breaker_config& config() const { return config_; }

  uint64_t opened_count() const { return opened_count_; }
  uint64_t rejected_count() const { return rejected_count_; }
  // Meaningful while open (and, as history, afterwards): when the open period ends.
  time_point open_until() const { return open_until_; }

  int calls_in_window() const { return static_cast<int>(count_); }
  int failures_in_window() const { return static_cast<int>(failures_); }
  int probes_in_flight() const { return probes_in_flight_; }

private:
  void open(time_point now);
  void close();
  void clear_window();
  void push_result(bool success);

  circuit_breaker_config config_;
  breaker_state state_ = breaker_state::closed;
  std::vector<bool> ring_; // true = failure
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  std::size_t failures_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  time_point open_until_{};
  uint64_t opened_count_ = 0;
  uint64_t rejected_count_ = 0;
};

} // namespace boxoffice
