#include "tools/loadgen/seatmap.hpp"

#include <cctype>
#include <climits>
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

// Just past the '[' that opens the body's "seats" array, or npos.
std::size_t seats_array(std::string_view body) {
  const auto key = body.find("\"seats\"");
  if (key == std::string_view::npos)
    return std::string_view::npos;
  const auto open = body.find('[', key);
  return open == std::string_view::npos ? open : open + 1;
}

bool fast_scan(std::string_view body, std::size_t max_sample, std::mt19937_64& rng, SeatScan& out) {
  std::size_t i = seats_array(body);
  if (i == std::string_view::npos)
    return false;
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

// Just enough of a JSON reader for the compact map's top-level object: the
// fields it needs are read, the others skipped (checked for JSON syntax, not decoded).
class Reader {
public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool eat(char c) {
    skip_ws(s_, i_);
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  bool at_end() {
    skip_ws(s_, i_);
    return i_ == s_.size();
  }

  // A string's raw text between the quotes (escapes are stepped over, not decoded).
  bool string(std::string_view& v) {
    if (!eat('"'))
      return false;
    const auto start = i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\')
        ++i_;
      ++i_;
    }
    if (i_ >= s_.size())
      return false;
    v = s_.substr(start, i_ - start);
    ++i_;
    return true;
  }

  // An integer (no fraction, no exponent) of at most 18 digits.
  bool integer(std::int64_t& v) {
    skip_ws(s_, i_);
    const bool neg = i_ < s_.size() && s_[i_] == '-';
    if (neg)
      ++i_;
    const auto start = i_;
    std::int64_t n = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (i_ - start >= 18)
        return false;
      n = n * 10 + (s_[i_] - '0');
      ++i_;
    }
    if (i_ == start)
      return false;
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
      return false;
    v = neg ? -n : n;
    return true;
  }

  // Any value; nesting is bounded so a hostile body cannot exhaust the stack.
  bool skip_value(int depth = 0) {
    if (depth > 32)
      return false;
    skip_ws(s_, i_);
    if (i_ >= s_.size())
      return false;
    const char c = s_[i_];
    if (c == '"') {
      std::string_view ignored;
      return string(ignored);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close))
        return true;
      do {
        if (c == '{') {
          std::string_view key;
          if (!string(key) || !eat(':'))
            return false;
        }
        if (!skip_value(depth + 1))
          return false;
      } while (eat(','));
      return eat(close);
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    }
    return number();
  }

private:
  // -?digits(.digits)?([eE][+-]?digits)?
  bool number() {
    if (i_ < s_.size() && s_[i_] == '-')
      ++i_;
    if (!digits())
      return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits())
        return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'))
        ++i_;
      if (!digits())
        return false;
    }
    return true;
  }

  bool digits() {
    const auto start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
      ++i_;
    return i_ > start;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

struct Run {
  std::int64_t first = 0;
  std::int64_t last = 0;
};

// [[first, last, price], ...]: seat numbers 1..INT_MAX, first <= last, runs
// strictly after one another (gaps allowed), prices integers >= 0.
bool read_runs(Reader& r, std::vector<Run>& runs) {
  if (!r.eat('['))
    return false;
  if (r.eat(']'))
    return true;
  std::int64_t prev_last = 0;
  do {
    Run run;
    std::int64_t price = 0;
    if (!r.eat('[') || !r.integer(run.first) || !r.eat(',') || !r.integer(run.last) ||
        !r.eat(',') || !r.integer(price) || !r.eat(']'))
      return false;
    if (run.first <= prev_last || run.last < run.first || run.last > INT_MAX || price < 0)
      return false;
    prev_last = run.last;
    runs.push_back(run);
  } while (r.eat(','));
  return r.eat(']');
}

bool compact_scan(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                  SeatScan& out) {
  Reader r(body);
  std::vector<Run> runs;
  std::string_view status;
  bool have_seats = false;
  bool have_status = false;
  if (!r.eat('{'))
    return false;
  if (!r.eat('}')) {
    do {
      std::string_view key;
      if (!r.string(key) || !r.eat(':'))
        return false;
      if (key == "seats") {
        if (have_seats || !read_runs(r, runs))
          return false;
        have_seats = true;
      } else if (key == "status") {
        if (have_status || !r.string(status))
          return false;
        have_status = true;
      } else if (!r.skip_value()) {
        return false;
      }
    } while (r.eat(','));
    if (!r.eat('}'))
      return false;
  }
  if (!r.at_end() || !have_seats || !have_status)
    return false;
  std::uint64_t total = 0;
  for (const auto& run : runs)
    total += static_cast<std::uint64_t>(run.last - run.first + 1);
  if (total != status.size())
    return false;
  std::size_t k = 0;
  for (const auto& run : runs) {
    for (std::int64_t seat = run.first; seat <= run.last; ++seat) {
      const char c = status[k++];
      if (c == 'A')
        offer(out, static_cast<int>(seat), max_sample, rng);
      else if (c != 'H' && c != 'S')
        return false;
    }
  }
  out.seats = total;
  return true;
}

// Whether the first element of the body's "seats" array is itself an array,
// i.e. a compact map.
bool looks_compact(std::string_view body) {
  std::size_t i = seats_array(body);
  if (i == std::string_view::npos)
    return false;
  skip_ws(body, i);
  return i < body.size() && body[i] == '[';
}

} // namespace

bool scan_compact_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                           SeatScan& out) {
  out = {};
  if (compact_scan(body, max_sample, rng, out))
    return true;
  out = {};
  return false;
}

bool scan_seat_map(std::string_view body, std::size_t max_sample, std::mt19937_64& rng,
                   SeatScan& out) {
  if (looks_compact(body)) // not misread as seats without numbers
    return scan_compact_seat_map(body, max_sample, rng, out);
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
