#pragma once
// The actors a saga coordinator talks to, and the steps it records.

#include "actors/booking_config.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice {

struct saga_context {
  db_actor db;
  catalogue_actor catalogue;
  reservation_registry reservations;
  wallet_registry wallets;
  storage::payment_answer_fn payment_answer{}; // renders a completed payment's answer
};

// What a coordinator shows to operators: where it is and what happened so far.
struct saga_progress {
  storage::saga_row row;
  std::string step = "BEGIN";
  std::vector<std::string> history;
};

constexpr auto saga_step_timeout = std::chrono::seconds(30);

} // namespace boxoffice
