#include "util/clock.hpp"

#include <atomic>
#include <cstdlib>

namespace boxoffice {

using namespace std::chrono;

namespace {

int64_t system_minus_steady_ns() {
  return (system_clock::now().time_since_epoch() - steady_clock::now().time_since_epoch()) /
         nanoseconds(1);
}

} // namespace

int64_t now_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t epoch_ms_at(steady_clock::time_point steady_now) {
  static std::atomic<int64_t> offset_ns{system_minus_steady_ns()};
  auto live = system_minus_steady_ns();
  auto offset = offset_ns.load(std::memory_order_relaxed);
  if (std::llabs(live - offset) > nanoseconds(milliseconds(1)).count()) {
    offset = live;
    offset_ns.store(offset, std::memory_order_relaxed);
  }
  return duration_cast<milliseconds>(steady_now.time_since_epoch() + nanoseconds(offset)).count();
}

} // namespace boxoffice
