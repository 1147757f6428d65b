#pragma once
// The settings the booking actors need, handed down at spawn.

#include "actors/db_protocol.hpp"

namespace boxoffice {

struct booking_config {
  int hold_ttl_seconds = 300;
  int hold_max_per_user = 4;
  int admit_per_second = 100;
  int max_active = 1000;
  int active_ttl_seconds = 600;
  int idle_seconds = 60; // entity actors with nothing to do passivate after this
};

// What a seat actor needs besides its own state.
struct seat_context {
  db_actor db;
  reservation_registry reservations;
  booking_config cfg;
};

} // namespace boxoffice
