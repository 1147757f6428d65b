// Picks AVAILABLE seats out of a seat-map answer, full form
//   {"seats":[{"seatNumber":1,"price":100,"status":"AVAILABLE"}, ...]}
// or compact form (?format=compact)
//   {"scheduleId":1,"version":"...","seats":[[1,10,150000],[11,50,100000]],"status":"AAHS..."}
// without building a JSON document: a venue's full map can be megabytes and
// every fan reads it. Full-form seat objects are flat, so each '{' ... '}' is
// one seat.
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
/// A body whose "seats" array starts with an array (the compact form) is handed
/// to scan_compact_seat_map instead of being misread as seats without numbers.
bool scan_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                   SeatScan& out);

/// Scans a compact seat map: `seats` holds runs [first, last, price] of
/// consecutive seat numbers in number order (gaps allowed between runs),
/// `status` one letter per seat of the runs in the same order (A available,
/// H held, S sold). Fills out like scan_seat_map. Returns false (out left
/// empty) for anything malformed: not one JSON object, `seats` or `status`
/// missing or repeated, a run that is not three integers, first < 1,
/// last < first, runs out of order or overlapping, a status letter other
/// than A/H/S, or a status length different from the seats in the runs.
bool scan_compact_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                           SeatScan& out);

} // namespace boxoffice::loadgen
