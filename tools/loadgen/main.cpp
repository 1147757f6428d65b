// loadgen: the boxoffice load driver. See tools/loadgen/README.md.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/invariants.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/scenarios.hpp"
#include "tools/loadgen/stats.hpp"

using namespace boxoffice::loadgen;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotRun = 3;

/// Prints one progress line per second on stderr until stopped.
class Progress {
public:
  Progress(const Counters& c, bool enabled) : c_(c), enabled_(enabled), tty_(isatty(2) != 0) {
    if (enabled_)
      thread_ = std::thread([this] { loop(); });
  }
  ~Progress() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stopped_)
        return;
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
    if (enabled_ && tty_)
      std::cerr << "\n";
  }

private:
  void loop() {
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t last_requests = 0;
    auto last = start;
    std::unique_lock<std::mutex> lock(m_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopped_; })) {
      const auto now = std::chrono::steady_clock::now();
      const auto req = c_.requests.load();
      const double dt = std::chrono::duration<double>(now - last).count();
      char line[400];
      std::snprintf(
        line, sizeof line,
        "[%6.1fs] req %llu (%.0f/s) err %llu shed %llu | fans done %llu/%llu admitted %llu | "
        "holds %llu (409 %llu) paid %llu | p99 %.1f ms",
        std::chrono::duration<double>(now - start).count(), static_cast<unsigned long long>(req),
        dt > 0 ? static_cast<double>(req - last_requests) / dt : 0.0,
        static_cast<unsigned long long>(c_.errors.load()),
        static_cast<unsigned long long>(c_.shed.load()),
        static_cast<unsigned long long>(c_.fans_done.load()),
        static_cast<unsigned long long>(c_.fans_started.load()),
        static_cast<unsigned long long>(c_.admitted.load()),
        static_cast<unsigned long long>(c_.holds.load()),
        static_cast<unsigned long long>(c_.hold_conflicts.load()),
        static_cast<unsigned long long>(c_.payments.load()),
        static_cast<double>(c_.latency.percentile(99)) / 1000.0);
      if (tty_)
        std::cerr << "\r" << line << "\033[K" << std::flush;
      else
        std::cerr << line << "\n";
      last_requests = req;
      last = now;
    }
  }

  const Counters& c_;
  bool enabled_;
  bool tty_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

std::string iso8601(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// The targets, comma-separated ("http://a:8080, http://b:8081").
std::string targets_text(const Options& opt) {
  std::string s;
  for (const auto& t : opt.targets)
    s += (s.empty() ? "" : ", ") + t;
  return s.empty() ? opt.target : s;
}

/// What each target saw: [{url, fans, requests, shed, errors}] in --target order.
nlohmann::ordered_json targets_json(const Options& opt, const std::vector<TargetStats>& ts) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < opt.targets.size(); ++i) {
    const auto t = i < ts.size() ? ts[i] : TargetStats{};
    j.push_back({{"url", opt.targets[i]},
                 {"fans", t.fans},
                 {"requests", t.requests},
                 {"shed", t.shed},
                 {"errors", t.errors}});
  }
  return j;
}

nlohmann::ordered_json counters_json(const Counters& c) {
  nlohmann::ordered_json j;
  j["requests"] = c.requests.load();
  j["errors"] = c.errors.load();
  j["shed"] = c.shed.load();
  j["fans"] = c.fans_started.load();
  j["fansDone"] = c.fans_done.load();
  j["admitted"] = c.admitted.load();
  j["holdAttempts"] = c.hold_attempts.load();
  j["holds"] = c.holds.load();
  j["holdConflicts"] = c.hold_conflicts.load();
  j["holdLimit"] = c.hold_limit.load();
  j["payments"] = c.payments.load();
  j["insufficientBalance"] = c.insufficient_balance.load();
  j["paymentRetries"] = c.payment_retries.load();
  j["soldOut"] = c.sold_out.load();
  j["gaveUp"] = c.gave_up.load();
  j["failed"] = c.failed.load();
  j["pointsCharged"] = c.points_charged.load();
  j["pointsPaid"] = c.points_paid.load();
  j["streamsOpen"] = c.streams_open.load();
  j["streamsDropped"] = c.streams_dropped.load();
  j["streamEvents"] = c.stream_events.load();
  return j;
}

int run(Options& opt) {
  // Users: a fresh id range unless told otherwise.
  if (!opt.user_base_given) {
    std::optional<std::int64_t> base;
    if (!opt.no_check || !opt.db.empty())
      base = next_free_user_id(opt.db);
    if (!base) {
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      base = 1'000'000 + (secs % 1'000'000) * 1000;
    }
    opt.user_base = *base;
  }

  std::string error;
  const auto target = discover(opt, error);
  if (!target) {
    std::cerr << "loadgen: cannot start: " << error << "\n";
    return kExitCannotRun;
  }

  Shared shared(opt, *target);
  const auto wall_start = std::chrono::system_clock::now();
  std::cout << "loadgen " << scenario_name(opt.scenario) << " against " << targets_text(opt)
            << ": concert " << target->concert_id << " (" << target->title << "), schedule "
            << target->schedule_id << " (" << target->available_seats << " of "
            << target->total_seats << " seats available), users from " << opt.user_base << ", "
            << opt.connections << " connections on " << opt.threads << " io thread(s)"
            << (opt.seat_format == SeatFormat::compact ? ", compact seat maps" : "") << "\n"
            << std::flush;

  RunResult result;
  try {
    Progress progress(shared.counters, opt.progress);
    result = run_scenario(shared);
    progress.stop();
  } catch (const std::exception& e) {
    std::cerr << "loadgen: run failed: " << e.what() << "\n";
    return kExitCannotRun;
  }

  const auto& c = shared.counters;
  const double secs = result.seconds;
  const bool timed_window = opt.scenario == Scenario::holds || opt.scenario == Scenario::payments;
  const double window = result.window_seconds;
  double hold_window = secs;
  if (opt.scenario == Scenario::hot_seat && result.storm_seconds > 0)
    hold_window = result.storm_seconds;
  else if (opt.scenario == Scenario::holds && window > 0)
    hold_window = window;
  const double hold_rate =
    hold_window > 0 ? static_cast<double>(c.hold_attempts.load()) / hold_window : 0;
  const double booking_rate = secs > 0 ? static_cast<double>(c.payments.load()) / secs : 0;
  // holds: 201 holds over the window; payments: 201 payments over the window.
  const double holds_rate = window > 0 ? static_cast<double>(c.holds.load()) / window : 0;
  const double payments_rate = window > 0 ? static_cast<double>(c.payments.load()) / window : 0;

  std::cout << "\n== " << scenario_name(opt.scenario) << ": " << secs << " s, "
            << c.fans_started.load() << " fans, " << c.admitted.load() << " admitted, "
            << c.holds.load() << " holds (" << c.hold_conflicts.load() << " conflicts), "
            << c.payments.load() << " bookings, " << c.insufficient_balance.load()
            << " insufficient balance, " << c.sold_out.load() << " found no seat, "
            << c.gave_up.load() << " gave up, " << c.failed.load() << " failed\n"
            << "   hold attempts/s " << hold_rate
            << (opt.scenario == Scenario::hot_seat
                  ? " (over the storm window of " + std::to_string(hold_window) + " s)"
                  : std::string())
            << (opt.scenario == Scenario::holds && window > 0
                  ? " (over the window of " + std::to_string(window) + " s)"
                  : std::string())
            << ", bookings/s " << booking_rate << ", 429/503 answers " << c.shed.load()
            << ", errors " << c.errors.load() << ", payment retries " << c.payment_retries.load()
            << "\n   points charged " << c.points_charged.load() << ", paid "
            << c.points_paid.load() << "\n";
  if (opt.targets.size() > 1) {
    std::cout << "   targets:";
    for (std::size_t i = 0; i < opt.targets.size(); ++i) {
      const auto t = i < result.stats.targets.size() ? result.stats.targets[i] : TargetStats{};
      std::cout << (i ? ";" : "") << " " << opt.targets[i] << " " << t.fans << " fans, "
                << t.requests << " requests (" << t.shed << " 429/503, " << t.errors << " errors)";
    }
    std::cout << "\n";
  }
  if (timed_window)
    std::cout << "   setup (untimed) " << result.setup_seconds << " s, timed window " << window
              << " s: "
              << (opt.scenario == Scenario::holds
                    ? "holds/s " + std::to_string(holds_rate) + " (" +
                        std::to_string(c.holds.load()) + " holds, " +
                        std::to_string(c.hold_limit.load()) + " refused by the per-user cap)"
                    : "payments/s " + std::to_string(payments_rate) + " (" +
                        std::to_string(c.payments.load()) + " payments)")
              << "\n";
  const double stream_rate = window > 0 ? static_cast<double>(c.stream_events.load()) / window : 0;
  if (opt.streams > 0)
    std::cout << "   live seat maps: " << c.streams_open.load() << " of " << opt.streams
              << " streams open, " << c.streams_dropped.load() << " dropped, "
              << c.stream_events.load() << " seat events of this run's holds read (" << stream_rate
              << "/s over the window)\n";
  std::cout << "\n";
  print_summary(std::cout, result.stats, secs);
  if (opt.scenario == Scenario::outage)
    std::cout << "fault injection answer: " << shared.fault_status.load() << "\n";

  CheckReport report;
  if (!opt.no_check) {
    CheckInput in;
    in.conninfo = opt.db;
    in.dpsim = opt.dpsim_url;
    in.drain_timeout = opt.drain_timeout;
    in.schedule_id = target->schedule_id;
    in.user_first = opt.user_base;
    in.user_last = opt.user_base + shared.user_count - 1;
    in.booked_reservations = result.stats.booked_reservations;
    in.run_start_unix = std::chrono::duration<double>(wall_start.time_since_epoch()).count();
    std::cout << "\n== invariants\n" << std::flush;
    report = run_checks(in, std::cerr);
    print_report(std::cout, report);
    if (!report.facts.empty()) {
      const auto& f = report.facts;
      std::cout << "sold seats on schedule " << target->schedule_id << ": "
                << f.value("soldSeats", std::int64_t{0}) << " of "
                << f.value("scheduleSeats", std::int64_t{0}) << " (held "
                << f.value("heldSeats", std::int64_t{0}) << "); run users' points in "
                << f.value("pointsIn", std::int64_t{0}) << ", spent "
                << f.value("pointsSpent", std::int64_t{0}) << ", refunded "
                << f.value("pointsRefunded", std::int64_t{0}) << ", balance "
                << f.value("pointsBalance", std::int64_t{0}) << "\n";
    }
  }
  const int code = report.all_pass() ? kExitOk : kExitViolation;

  if (!opt.json_file.empty()) {
    nlohmann::ordered_json j;
    j["scenario"] = scenario_name(opt.scenario);
    j["options"] = options_json(opt);
    j["target"] = {{"concertId", target->concert_id},
                   {"scheduleId", target->schedule_id},
                   {"totalSeats", target->total_seats},
                   {"availableSeatsBefore", target->available_seats}};
    j["targets"] = targets_json(opt, result.stats.targets);
    j["startedAt"] = iso8601(wall_start);
    j["durationSeconds"] = secs;
    j["endpoints"] = endpoints_json(result.stats.endpoints, secs);
    nlohmann::ordered_json phases = nlohmann::ordered_json::object();
    for (const auto& [name, h] : result.stats.phases)
      phases[name] = histogram_json(h, secs);
    j["phases"] = phases;
    j["holdAttemptsPerSecond"] = hold_rate;
    j["bookingsPerSecond"] = booking_rate;
    if (opt.scenario == Scenario::hot_seat)
      j["stormSeconds"] = result.storm_seconds;
    if (opt.scenario == Scenario::holds)
      j["holdsPerSecond"] = holds_rate;
    if (opt.streams > 0)
      j["streams"] = {{"clients", opt.streams},
                      {"open", c.streams_open.load()},
                      {"dropped", c.streams_dropped.load()},
                      {"events", c.stream_events.load()},
                      {"eventsPerSecond", stream_rate},
                      // every open stream should see every 201 hold of the run
                      {"expectedEvents", c.streams_open.load() * c.holds.load()}};
    if (opt.scenario == Scenario::payments)
      j["paymentsPerSecond"] = payments_rate;
    if (timed_window) {
      j["setupSeconds"] = result.setup_seconds;
      j["windowSeconds"] = window;
    }
    j["counters"] = counters_json(c);
    nlohmann::ordered_json timeline = nlohmann::ordered_json::array();
    for (std::size_t s = 0; s < result.stats.hold_attempts_by_second.size(); ++s)
      timeline.push_back({{"second", s},
                          {"holdAttempts", result.stats.hold_attempts_by_second[s]},
                          {"holds", result.stats.holds_by_second[s]}});
    j["holdTimeline"] = timeline;
    j["bookingTimeline"] = {{"bucketMs", Stats::timeline_bucket_ms},
                            {"holds", result.stats.holds_by_bucket},
                            {"payments", result.stats.payments_by_bucket}};
    if (opt.scenario == Scenario::outage)
      j["outage"] = {{"start", opt.outage_start},
                     {"seconds", opt.outage_seconds},
                     {"faultStatus", shared.fault_status.load()}};
    nlohmann::ordered_json inv = nlohmann::ordered_json::object();
    for (const auto& ch : report.checks)
      inv[ch.name] = ch.pass ? "pass" : "fail";
    j["invariants"] = inv;
    j["facts"] = report.facts;
    j["exitCode"] = code;
    std::ofstream out(opt.json_file);
    out << j.dump(2) << "\n";
    if (!out) {
      std::cerr << "loadgen: cannot write " << opt.json_file << "\n";
      return code == kExitOk ? kExitCannotRun : code;
    }
  }
  if (!opt.no_check)
    std::cout << (code == kExitOk ? "all invariants hold\n" : "INVARIANT VIOLATION\n");
  return code;
}

} // namespace

int main(int argc, char** argv) {
  std::optional<Options> opt;
  try {
    opt = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return kExitUsage;
  }
  if (!opt)
    return kExitOk; // --help
  try {
    return run(*opt);
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return kExitCannotRun;
  }
}
