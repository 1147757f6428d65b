#pragma once
// What the catalogue hands to each schedule, and a schedule to each seat: the
// actors a hold talks to besides the seat itself.

#include <memory>

#include "actors/booking_config.hpp"

namespace boxoffice {

class schedule_directory;

struct seat_context {
  db_actor db;
  reservation_registry_actor reservations;
  booking_config cfg;
  // Where schedules publish themselves once loaded (may be null in tests).
  std::shared_ptr<schedule_directory> directory;
};

} // namespace boxoffice
