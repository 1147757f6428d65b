#pragma once
// What the catalogue hands to each schedule, and a schedule to each seat: the
// actors a hold talks to besides the seat itself.

#include "actors/booking_config.hpp"

namespace boxoffice {

struct seat_context {
  db_actor db;
  reservation_registry_actor reservations;
  booking_config cfg;
};

} // namespace boxoffice
