#pragma once
// Writing events into the outbox inside the transaction of the change they
// report, and what the dispatcher needs to read and settle them.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace boxoffice::storage {

class pg_connection;

struct event_draft {
  std::string stream;         // reservation, order
  std::string type;           // RESERVATION_HELD, ...
  std::string aggregate_type; // reservation, order
  int64_t aggregate_id = 0;
  nlohmann::json data;
};

// Bumps the aggregate's event sequence, builds the envelope and inserts the
// row. Returns the event id (a random UUID, stable across every retry).
std::string append_event(pg_connection& conn, const event_draft& draft);

// What the platform needs about a reservation without calling back.
nlohmann::json reservation_event_data(pg_connection& conn, int64_t reservation_id);
nlohmann::json order_event_data(pg_connection& conn, int64_t payment_id);

// ISO-8601 UTC with milliseconds of an epoch-milliseconds time.
std::string iso_millis(int64_t epoch_ms);

} // namespace boxoffice::storage
