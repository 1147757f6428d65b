#pragma once
// The last `capacity` samples (900: fifteen minutes at one a second), in
// memory, oldest first, and their rendering as GET /admin/trends.

#include <cstddef>
#include <deque>
#include <string>

#include "http/admin/trend_sample.hpp"

namespace boxoffice::http {

inline constexpr size_t trend_capacity = 900;
inline constexpr int64_t trend_interval_ms = 1000;

class trend_window {
public:
  explicit trend_window(size_t capacity = trend_capacity) : capacity_(capacity) {}

  // Adds the newest sample, dropping the oldest when full.
  void push(trend_sample sample);
  size_t size() const { return samples_.size(); }
  size_t capacity() const { return capacity_; }

  // The newest `last` samples (all when 0 or more than held) as JSON columns:
  // "t" (wall-clock ms) and one array per series, index for index. A series
  // keyed by route or actor type is listed only when the window holds some
  // value for it, which bounds the size: routes are router.cpp's fixed set
  // plus "unmatched", status classes four, actor types a dozen.
  std::string render_json(size_t last = 0) const;

private:
  size_t capacity_;
  std::deque<trend_sample> samples_;
};

} // namespace boxoffice::http
