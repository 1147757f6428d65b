#pragma once
// Reads of the concert catalogue. Seat state comes from live reservations:
// a seat is taken exactly when a HELD, PAYING or CONFIRMED reservation owns it.

#include <map>
#include <optional>
#include <vector>

#include "messages/types.hpp"

namespace boxoffice::storage {

class pg_connection;

struct seat_row {
  int32_t seat_number = 0;
  int64_t price = 0;
  int64_t reservation_id = 0; // 0: no live reservation
  int64_t user_id = 0;
  std::optional<boxoffice::reservation_status> reservation_status; // HELD, PAYING or CONFIRMED
  int64_t expires_at_ms = 0;
};

struct schedule_snapshot {
  schedule_info info;
  schedule_facts facts;
  std::vector<seat_row> seats; // ordered by seat number
};

concert_list load_concerts(pg_connection& conn);

// Nothing when the concert does not exist.
std::optional<schedule_list> load_schedules(pg_connection& conn, int64_t concert_id);

// Seats neither held nor sold per schedule, counted by the database: for
// schedules whose actors live on another node.
std::map<int64_t, int32_t> available_seats(pg_connection& conn,
                                           const std::vector<int64_t>& schedule_ids);

// Nothing when the schedule does not exist.
std::optional<schedule_snapshot> load_schedule(pg_connection& conn, int64_t schedule_id);

} // namespace boxoffice::storage
