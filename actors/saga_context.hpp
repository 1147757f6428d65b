#pragma once
// The actors a saga coordinator talks to, and the steps it records.

#include <algorithm>
#include <caf/settings.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/booking_config.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice {

class active_tokens;
class schedule_directory;

struct saga_context {
  db_actor db;
  catalogue_actor catalogue;
  reservation_registry_actor reservations;
  wallet_registry_actor wallets;
  storage::payment_answer_fn payment_answer{}; // renders a completed payment's answer
  // For payments in one transaction: tokens checked without the waiting
  // room, and the schedules' facts and actors. Without them every payment
  // takes the saga path.
  std::shared_ptr<const active_tokens> passes{};
  std::shared_ptr<const schedule_directory> schedules{};
  // The partitions this node owns: it resumes only their sagas (null: all).
  std::shared_ptr<const cluster_map> cluster{};
};

// Where a coordinator is, what happened so far (shown to operators), and how
// often its current step has failed in a row (drives the retry backoff).
struct saga_progress {
  storage::saga_row row;
  std::string step = "BEGIN";
  std::vector<std::string> history;
  int attempts = 0;

  void enter(const char* next) {
    step = next;
    history.emplace_back(next);
  }

  // The wait before the failed step runs again: exponential from 200 ms, at
  // most 10 s. Retried steps are idempotent, and a saga never gives up while
  // money or the reservation may be half-way.
  std::chrono::milliseconds next_retry_delay() {
    auto delay = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(200) * (1 << std::min(attempts, 6)), std::chrono::seconds(10));
    attempts++;
    return delay;
  }

  void step_succeeded() { attempts = 0; }

  // The status reply of either saga coordinator.
  caf::settings status(size_t mailbox) const;
};

constexpr auto saga_step_timeout = std::chrono::seconds(30);

} // namespace boxoffice
