#pragma once
// Writing events into the outbox inside the transaction of the change they
// report, and what the dispatcher needs to read and settle them.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "messages/types.hpp"

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

// An event whose aggregate sequence its transaction has already taken.
struct numbered_event {
  event_draft draft;
  int64_t sequence = 0;
};

// Inserts them all in one statement. `with_write`, if given, is another write
// (numbering its parameters `with_params` from $1) that rides in the same
// statement, saving its round trip.
void append_numbered_events(pg_connection& conn, const std::vector<numbered_event>& events,
                            const std::string& with_write = {},
                            const std::vector<std::optional<std::string>>& with_params = {});

// What the platform needs about a reservation without calling back.
nlohmann::json reservation_event_data(pg_connection& conn, int64_t reservation_id);
nlohmann::json order_event_data(pg_connection& conn, int64_t payment_id);

// The same two payloads from what the actors hold, without a query: the
// reservation as it is now and its schedule's facts.
nlohmann::json reservation_event_data(const reservation_view& r, const schedule_facts& facts);
nlohmann::json order_event_data(const payment_view& p, const reservation_view& r,
                                const schedule_facts& facts);

} // namespace boxoffice::storage

namespace boxoffice::storage {

struct outbox_counts {
  int64_t pending = 0;
  int64_t dead = 0;
  int64_t delivered_retained = 0;
  int64_t oldest_pending_ms = 0; // epoch ms of the oldest pending event, 0 if none
};

// Pending rows after `after_id` (the fast path) or all of them (after_id 0).
std::vector<outbox_row> pending_events(pg_connection& conn, int64_t after_id, int limit);
outbox_counts count_outbox(pg_connection& conn);
void mark_delivered(pg_connection& conn, const std::vector<int64_t>& ids);
void mark_retry(pg_connection& conn, int64_t id, int attempts, const std::string& error,
                int64_t next_attempt_ms);
void mark_dead(pg_connection& conn, int64_t id, const std::string& error);
// JSON array of dead letters (newest first).
std::string dead_letters(pg_connection& conn, int limit);
// Back to PENDING with the same event id; 0 replays every dead letter.
int64_t replay_dead(pg_connection& conn, int64_t id);
int64_t prune_delivered(pg_connection& conn, int retain_seconds);

} // namespace boxoffice::storage
