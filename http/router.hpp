#pragma once
// Maps a method and path to a route and its path ids. Pure, so it is tested
// without a server.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/text.hpp"

namespace boxoffice::http {

enum class route_id {
  health,
  ready,
  concerts,
  schedules,
  seats,
  seat_stream,
  queue_token,
  queue_status,
  reservations,
  reservation,
  payments,
  points_charge,
  points,
  points_history,
};

struct route_match {
  enum { found, not_found, bad_method, bad_id } outcome = not_found;
  route_id id = route_id::health;
  std::array<int64_t, 2> ids{}; // path ids in order of appearance
  std::string allow;            // allowed methods, for 405
  std::string bad_id_name;      // which path id was malformed, for 400
};

// Allocates nothing on the way to a match: every request passes here.
route_match match_route(std::string_view method, std::string_view path);

// "GET /api/v1/concerts/{concertId}/schedules": the metrics label of a route
// ("unmatched" for a method the route does not have).
const std::string& route_label(std::string_view method, route_id id);

// The largest id a path or body may name: 18 digits, which fits int64 with room.
constexpr int64_t max_id = 999'999'999'999'999'999;
// The largest seat number a body may name.
constexpr int32_t max_seat_number = 1'000'000;

// Ids in paths parse as everywhere else (util/text.hpp).
using boxoffice::parse_id;

// The value of one query parameter, undecoded; empty when absent.
std::string_view query_param(std::string_view query, std::string_view name);

} // namespace boxoffice::http
