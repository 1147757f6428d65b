#include "tools/loadgen/seatmap.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

namespace boxoffice::loadgen {

namespace {

void skip_ws(std::string_view s, std::size_t& i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
    ++i;
}

// Position just after `"key"` and its ':' inside obj, or npos.
std::size_t value_of(std::string_view obj, std::string_view quoted_key) {
  const auto k = obj.find(quoted_key);
  if (k == std::string_view::npos)
    return std::string_view::npos;
  std::size_t i = k + quoted_key.size();
  skip_ws(obj, i);
  if (i >= obj.size() || obj[i] != ':')
    return std::string_view::npos;
  ++i;
  skip_ws(obj, i);
  return i;
}

void offer(SeatScan& out, int seat, std::size_t max_sample, std::mt19937_64& rng) {
  ++out.available;
  if (max_sample == 0)
    return;
  if (out.sample.size() < max_sample) {
    out.sample.push_back(seat);
    return;
  }
  std::uniform_int_distribution<std::size_t> pick(0, out.available - 1);
  const auto j = pick(rng);
  if (j < max_sample)
    out.sample[j] = seat;
}

bool fast_scan(std::string_view body, std::size_t max_sample, std::mt19937_64& rng, SeatScan& out) {
  const auto key = body.find("\"seats\"");
  if (key == std::string_view::npos)
    return false;
  const auto open = body.find('[', key);
  if (open == std::string_view::npos)
    return false;
  std::size_t i = open + 1;
  while (true) {
    skip_ws(body, i);
    if (i >= body.size() || body[i] == ']')
      break;
    if (body[i] == ',') {
      ++i;
      continue;
    }
    if (body[i] != '{')
      return false;
    const auto close = body.find('}', i);
    if (close == std::string_view::npos)
      return false;
    const auto obj = body.substr(i, close - i + 1);
    i = close + 1;
    ++out.seats;
    const auto n = value_of(obj, "\"seatNumber\"");
    const auto st = value_of(obj, "\"status\"");
    if (n == std::string_view::npos || st == std::string_view::npos)
      continue;
    const std::string num(obj.substr(n, 12));
    char* end = nullptr;
    const long seat = std::strtol(num.c_str(), &end, 10);
    if (end == num.c_str())
      continue;
    if (obj.substr(st, 11) == "\"AVAILABLE\"")
      offer(out, static_cast<int>(seat), max_sample, rng);
  }
  return true;
}

} // namespace

bool scan_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                   SeatScan& out) {
  out = {};
  if (fast_scan(body, max_sample, rng, out) && out.seats > 0)
    return true;
  out = {};
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seats") || !j["seats"].is_array())
    return false;
  for (const auto& s : j["seats"]) {
    ++out.seats;
    if (!s.is_object() || !s.contains("seatNumber") || !s["seatNumber"].is_number_integer())
      continue;
    if (s.value("status", std::string{}) == "AVAILABLE")
      offer(out, s["seatNumber"].get<int>(), max_sample, rng);
  }
  return true;
}

} // namespace boxoffice::loadgen
