// Invariant checks after a run, straight against PostgreSQL (libpq) and the
// data-platform simulator.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/http_client.hpp"

namespace boxoffice::loadgen {

struct CheckResult {
  CheckResult() = default;
  CheckResult(std::string n, std::string d, bool p = true, std::int64_t off = 0,
              std::vector<std::string> det = {})
      : name(std::move(n)), description(std::move(d)), pass(p), offending(off),
        details(std::move(det)) {}

  std::string name;        // stable key for --json
  std::string description; // what must hold
  bool pass = true;
  std::int64_t offending = 0;       // number of offending rows (or items)
  std::vector<std::string> details; // the first offending rows, "col=value ..."
};

struct CheckInput {
  std::string conninfo;
  std::optional<Url> dpsim;
  double drain_timeout = 30;
  std::int64_t schedule_id = 0;
  std::int64_t user_first = 0, user_last = -1;   // the run's users
  std::vector<std::int64_t> booked_reservations; // answered 201 by POST /payments
  double run_start_unix = 0; // wall clock of the run's start, seconds since the epoch
};

struct CheckReport {
  std::vector<CheckResult> checks;
  nlohmann::ordered_json facts = nlohmann::ordered_json::object(); // sold seats, points ...
  bool all_pass() const;
};

/// Connects, waits for sagas to finish and (with a simulator) the outbox to
/// drain, then runs every check. A connection failure is reported as a failed
/// check named "database".
CheckReport run_checks(const CheckInput& in, std::ostream& log);

void print_report(std::ostream& out, const CheckReport& report);

/// Max user id known to the database + 1, or nullopt when unreachable.
std::optional<std::int64_t> next_free_user_id(const std::string& conninfo);

} // namespace boxoffice::loadgen
