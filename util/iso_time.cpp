#include "util/iso_time.hpp"

#include <cstdio>
#include <ctime>

namespace boxoffice {

std::string iso_millis(int64_t epoch_ms) {
  std::time_t secs = epoch_ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(epoch_ms % 1000));
  return out;
}

} // namespace boxoffice
