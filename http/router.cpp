#include "http/router.hpp"

#include <sstream>

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

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in{path};
  while (std::getline(in, part, '/'))
    if (!part.empty())
      out.push_back(part);
  return out;
}

// Matches segments; on a shape match, fills ids or names the bad one.
bool shape_matches(const std::vector<std::string>& pat, const std::vector<std::string>& got,
                   route_match& m) {
  if (pat.size() != got.size())
    return false;
  std::vector<int64_t> ids;
  std::string bad;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i].front() == '{') {
      int64_t id = 0;
      if (!parse_id(got[i], id) && bad.empty())
        bad = pat[i].substr(1, pat[i].size() - 2);
      ids.push_back(id);
    } else if (pat[i] != got[i]) {
      return false;
    }
  }
  m.ids = std::move(ids);
  m.bad_id_name = std::move(bad);
  return true;
}

} // namespace

bool parse_id(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 18)
    return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  if (v <= 0)
    return false;
  out = v;
  return true;
}

std::string route_label(const std::string& method, route_id id) {
  for (auto& p : patterns)
    if (p.id == id && method == p.method)
      return method + " " + p.pattern;
  return "unmatched";
}

route_match match_route(const std::string& method, const std::string& path) {
  route_match result;
  auto got = split(path);
  for (auto& p : patterns) {
    route_match m;
    if (!shape_matches(split(p.pattern), got, m))
      continue;
    if (method != p.method) {
      result.outcome = route_match::bad_method;
      result.allow += (result.allow.empty() ? "" : ", ") + std::string{p.method};
      continue;
    }
    m.id = p.id;
    m.outcome = m.bad_id_name.empty() ? route_match::found : route_match::bad_id;
    return m;
  }
  return result;
}

std::string query_param(const std::string& query, const std::string& name) {
  std::istringstream in{query};
  std::string pair;
  while (std::getline(in, pair, '&')) {
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string::npos ? "" : pair.substr(eq + 1);
  }
  return {};
}

} // namespace boxoffice::http
