// Command-line options of the load driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/access/jwt_tokens.hpp"
#include "tools/loadgen/http_client.hpp"

namespace boxoffice::loadgen {

enum class Scenario { flash_crowd, hot_seat, steady, outage, holds, payments };

const char* scenario_name(Scenario s);

// The seat-map form the fans read: full (one object a seat) or compact
// (?format=compact: runs of seat numbers and one status letter a seat).
enum class SeatFormat { full, compact };

const char* seat_format_name(SeatFormat f);

struct Options {
  Scenario scenario = Scenario::flash_crowd;
  // --target, repeatable: fan i sends all its requests to targets[i mod N]
  // (target_index); discovery uses the first. target/target_url are the first.
  std::vector<std::string> targets{"http://127.0.0.1:8080"};
  std::vector<Url> target_urls;
  std::string target = "http://127.0.0.1:8080";
  Url target_url;
  std::int64_t users = 1000;
  double rate = 0;     // arrivals per second (steady; outage when > 0); holds: holds per
                       // second in all (0: as fast as they are answered)
  double duration = 0; // seconds; 0 = scenario default (steady 30, hot-seat 10, holds 60:
                       // the longest timed window)
  std::size_t connections = 64;
  unsigned threads = 1;
  std::uint64_t seed = 1;
  std::int64_t concert = 0;  // 0: the concert of --schedule, or the first one
  std::int64_t schedule = 0; // 0: the first schedule of the concert
  int seats = 50;            // hot-seat: seats 1..N are hammered; holds, payments: seats
                             // 1..N are partitioned (default there: the schedule's totalSeats)
  bool seats_given = false;
  int holds_per_user =
    4; // holds: distinct seats each client holds (the server's hold.max_per_user)
  std::int64_t streams = 0; // holds: live seat-map streams read through the window
  std::int64_t points = 1'000'000;
  std::int64_t user_base = 0; // 0: automatic (max user id in --db + 1, else from the clock)
  bool user_base_given = false;
  std::string db;    // libpq connection string; empty: PG* environment
  std::string dpsim; // data-platform simulator URL
  std::optional<Url> dpsim_url;
  double drain_timeout = 30;
  std::string json_file;
  bool no_check = false;
  // Beyond the brief's list:
  double timeout = 30;   // per-request timeout, seconds
  int hold_tries = 5;    // holds a fan tries before giving up
  double max_wait = 300; // longest wait for admission, seconds
  bool pay = true;       // hot-seat: pay for successful holds (--no-pay turns it off)
  double outage_start = 5;
  double outage_seconds = 10;
  int shed_retries = 5;
  // The seat map the booking funnel reads (--seat-format).
  SeatFormat seat_format = SeatFormat::full;
  bool progress = true;
  // auth.mode = jwt: every request a fan sends carries a bearer token with
  // sub = its user id, signed with this HS256 secret (--jwt-secret-file).
  std::string jwt_secret_file;          // empty: no Authorization header
  std::string jwt_issuer;               // iss claim; empty: left out
  std::string jwt_audience;             // aud claim; empty: left out
  std::optional<http::jwt_key> jwt_key; // read from jwt_secret_file by parse_options
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The target (index into Options::targets) of fan `fan` (0-based: user id -
/// user_base) when there are `targets` of them: fan mod targets.
inline std::size_t target_index(std::int64_t fan, std::size_t targets) {
  if (targets <= 1 || fan < 0)
    return 0;
  return static_cast<std::size_t>(fan) % targets;
}

/// Parses argv. Returns nullopt after printing --help. Throws UsageError.
std::optional<Options> parse_options(int argc, char** argv);

/// The options as JSON, for --json.
nlohmann::ordered_json options_json(const Options& o);

} // namespace boxoffice::loadgen
