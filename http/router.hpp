#pragma once
// Maps a method and path to a route and its path ids. Pure, so it is tested
// without a server.

#include <cstdint>
#include <string>
#include <vector>

namespace boxoffice::http {

enum class route_id {
  health,
  ready,
  concerts,
  schedules,
  seats,
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
  std::vector<int64_t> ids; // path ids in order of appearance
  std::string allow;        // allowed methods, for 405
  std::string bad_id_name;  // which path id was malformed, for 400
};

route_match match_route(const std::string& method, const std::string& path);

// "GET /api/v1/concerts/{concertId}/schedules": the metrics label of a route.
std::string route_label(const std::string& method, route_id id);

// Parses a positive decimal id of at most 18 digits (fits int64 with room).
bool parse_id(const std::string& text, int64_t& out);

// The value of one query parameter, undecoded; empty when absent.
std::string query_param(const std::string& query, const std::string& name);

} // namespace boxoffice::http
