// Picks AVAILABLE seats out of a seat-map answer
//   {"seats":[{"seatNumber":1,"price":100,"status":"AVAILABLE"}, ...]}
// without building a JSON document: a venue's map can be megabytes and every
// fan reads it. Seat objects are flat, so each '{' ... '}' is one seat.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace boxoffice::loadgen {

struct SeatScan {
  std::size_t seats = 0;     // seat objects seen
  std::size_t available = 0; // of which AVAILABLE
  std::vector<int> sample;   // a uniform random sample of AVAILABLE seat numbers
};

/// Scans body for seats; keeps a reservoir sample of at most max_sample
/// AVAILABLE seat numbers. Falls back to a full JSON parse when the fast scan
/// finds no seat objects; returns false when the body has no "seats" array.
bool scan_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                   SeatScan& out);

} // namespace boxoffice::loadgen
