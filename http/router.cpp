#include "http/router.hpp"

namespace boxoffice::http {

namespace {

struct route_pattern {
  const char* method;
  const char* pattern; // literal segments and "{name}" ids
  route_id id;
};

constexpr route_pattern patterns[] = {
  {"GET", "/health", route_id::health},
  {"GET", "/ready", route_id::ready},
  {"GET", "/api/v1/concerts", route_id::concerts},
  {"GET", "/api/v1/concerts/{concertId}/schedules", route_id::schedules},
  {"GET", "/api/v1/concerts/{concertId}/schedules/{scheduleId}/seats", route_id::seats},
  {"GET", "/api/v1/concerts/{concertId}/schedules/{scheduleId}/seats/stream",
   route_id::seat_stream},
  {"POST", "/api/v1/queue/token", route_id::queue_token},
  {"GET", "/api/v1/queue/status", route_id::queue_status},
  {"POST", "/api/v1/reservations", route_id::reservations},
  {"GET", "/api/v1/reservations/{reservationId}", route_id::reservation},
  {"DELETE", "/api/v1/reservations/{reservationId}", route_id::reservation},
  {"POST", "/api/v1/payments", route_id::payments},
  {"POST", "/api/v1/points/charge", route_id::points_charge},
  {"GET", "/api/v1/points/{userId}", route_id::points},
  {"GET", "/api/v1/points/{userId}/history", route_id::points_history},
};

constexpr size_t max_segments = 8;

// A path cut at its slashes, empty segments skipped; more than max_segments
// segments match no route.
struct segments {
  std::array<std::string_view, max_segments> parts;
  size_t count = 0;
  bool too_many = false;
};

segments split(std::string_view path) {
  segments out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (part.empty())
      continue;
    if (out.count == max_segments) {
      out.too_many = true;
      break;
    }
    out.parts[out.count++] = part;
  }
  return out;
}

// The patterns, split once.
const std::array<segments, std::size(patterns)>& pattern_segments() {
  static const auto table = [] {
    std::array<segments, std::size(patterns)> t;
    for (size_t i = 0; i < std::size(patterns); ++i)
      t[i] = split(patterns[i].pattern);
    return t;
  }();
  return table;
}

// Matches segments; on a shape match, fills ids or names the bad one.
bool shape_matches(const segments& pat, const segments& got, route_match& m) {
  if (pat.count != got.count)
    return false;
  size_t n = 0;
  for (size_t i = 0; i < pat.count; ++i) {
    auto p = pat.parts[i];
    if (p.front() == '{') {
      int64_t id = 0;
      if (!parse_id(got.parts[i], id) && m.bad_id_name.empty())
        m.bad_id_name = std::string{p.substr(1, p.size() - 2)};
      if (n < m.ids.size())
        m.ids[n++] = id;
    } else if (p != got.parts[i]) {
      m.bad_id_name.clear();
      return false;
    }
  }
  return true;
}

} // namespace

const std::string& route_label(std::string_view method, route_id id) {
  static const auto labels = [] {
    std::array<std::string, std::size(patterns)> t;
    for (size_t i = 0; i < std::size(patterns); ++i)
      t[i] = std::string{patterns[i].method} + " " + patterns[i].pattern;
    return t;
  }();
  static const std::string unmatched = "unmatched";
  for (size_t i = 0; i < std::size(patterns); ++i)
    if (patterns[i].id == id && method == patterns[i].method)
      return labels[i];
  return unmatched;
}

route_match match_route(std::string_view method, std::string_view path) {
  route_match result;
  auto got = split(path);
  if (got.too_many)
    return result;
  auto& table = pattern_segments();
  for (size_t i = 0; i < std::size(patterns); ++i) {
    route_match m;
    if (!shape_matches(table[i], got, m))
      continue;
    if (method != patterns[i].method) {
      result.outcome = route_match::bad_method;
      result.allow += (result.allow.empty() ? "" : ", ") + std::string{patterns[i].method};
      continue;
    }
    m.id = patterns[i].id;
    m.outcome = m.bad_id_name.empty() ? route_match::found : route_match::bad_id;
    return m;
  }
  return result;
}

std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return {};
}

} // namespace boxoffice::http
