// Scenarios: virtual fans as callback-driven state machines on a few io
// threads (never a thread per fan).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "tools/loadgen/fan_tokens.hpp"
#include "tools/loadgen/http_client.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/stats.hpp"

namespace boxoffice::loadgen {

/// The schedule the run books on.
struct Target {
  std::int64_t concert_id = 0;
  std::int64_t schedule_id = 0;
  std::int64_t total_seats = -1;     // from the schedules list, -1 if not reported
  std::int64_t available_seats = -1; // before the run
  std::string title;
};

/// Finds the concert and schedule (GET /concerts, GET /concerts/{id}/schedules).
std::optional<Target> discover(const Options& opt, std::string& error);

/// State shared by all io threads: read-only after setup, plus atomics.
struct Shared {
  Shared(const Options& o, const Target& t);
  const Options& opt;
  Target target;
  std::string prefix;                  // first target's path + "/api/v1"
  std::vector<std::string> prefixes;   // each target's path + "/api/v1"
  std::optional<FanTokens> fan_tokens; // --jwt-secret-file: each fan's bearer token
  Counters counters;
  Clock::time_point start;
  std::int64_t user_count = 0; // user ids user_base .. user_base + user_count - 1
  std::atomic<std::int64_t> storm_start_ns{-1};
  bool outage = false;
  Clock::time_point outage_begin{}, outage_end{};
  std::atomic<int> fault_status{-1}; // answer of the simulator to the fault command

  // holds, payments: an untimed setup phase, then a timed window that every
  // client enters at once.
  bool barrier = false;
  std::int64_t seat_range = 0;                   // seats 1..N are dealt out among the clients
  std::atomic<std::int64_t> setup_pending{0};    // clients not yet ready (or failed) for the window
  std::atomic<std::int64_t> window_start_ns{-1}; // since start; -1 until the window opens
  std::function<void()> release;                 // opens the window on every io thread
  std::atomic<std::int64_t> holders_left{0};     // holds: clients still holding

  // holds --streams: when each seat's hold was sent, so that a stream client
  // on any io thread can time the seat's event.
  void hold_sent(int seat, Clock::time_point at) {
    std::lock_guard<std::mutex> lock{sent_mtx_};
    sent_.emplace(seat, at);
  }
  std::optional<Clock::time_point> hold_sent_at(int seat) {
    std::lock_guard<std::mutex> lock{sent_mtx_};
    auto i = sent_.find(seat);
    if (i == sent_.end())
      return std::nullopt;
    return i->second;
  }
  /// A client is ready for the window (or has dropped out of it); the last one opens it.
  void setup_done() {
    if (setup_pending.fetch_sub(1) == 1 && release)
      release();
  }

private:
  std::mutex sent_mtx_;
  std::unordered_map<int, Clock::time_point> sent_;
};

class Worker;

struct RunResult {
  Stats stats;
  double seconds = 0;       // start to the last fan's end
  double storm_seconds = 0; // hot-seat: first hold sent to last hold answered
  // holds: first hold sent to last hold answered; payments: first payment sent
  // to last payment answered (0 when the window never opened)
  double window_seconds = 0;
  double setup_seconds = 0; // holds, payments: start of the run to the window's opening
};

/// Runs the scenario on opt.threads io threads; returns when every fan is done.
RunResult run_scenario(Shared& shared);

/// Seconds since the start of the run.
double since_start(const Shared& s, Clock::time_point t);

} // namespace boxoffice::loadgen
