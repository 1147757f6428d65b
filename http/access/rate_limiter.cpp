#include "http/access/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace boxoffice::http {

rate_limiter::rate_limiter(std::string name, bucket_rule rule, size_t max_keys)
    : name_(std::move(name)), rule_(rule),
      max_keys_per_shard_(std::max<size_t>(1, max_keys / shard_count)) {}

double rate_limiter::refilled(const bucket& b, int64_t now_ms) const {
  auto elapsed = std::max<int64_t>(0, now_ms - b.updated_ms);
  return std::min(rule_.burst, b.tokens + elapsed * rule_.per_second / 1000.0);
}

void rate_limiter::make_room(shard& s, int64_t now_ms) {
  for (auto i = s.buckets.begin(); i != s.buckets.end();)
    i = refilled(i->second, now_ms) >= rule_.burst ? s.buckets.erase(i) : std::next(i);
  while (s.buckets.size() >= max_keys_per_shard_)
    s.buckets.erase(s.buckets.begin());
}

limit_decision rate_limiter::take(const std::string& key, int64_t now_ms) {
  if (!rule_.enabled())
    return {};
  auto& s = shards_[std::hash<std::string>{}(key) % shard_count];
  limit_decision out;
  {
    std::lock_guard lock{s.mutex};
    auto i = s.buckets.find(key);
    if (i == s.buckets.end()) {
      if (s.buckets.size() >= max_keys_per_shard_)
        make_room(s, now_ms);
      i = s.buckets.emplace(key, bucket{rule_.burst, now_ms}).first;
    }
    auto& b = i->second;
    b.tokens = refilled(b, now_ms);
    b.updated_ms = std::max(b.updated_ms, now_ms);
    if (b.tokens >= 1) {
      b.tokens -= 1;
    } else {
      out.allowed = false;
      out.retry_after_seconds =
        std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rule_.per_second)));
    }
  }
  (out.allowed ? allowed_ : refused_).fetch_add(1, std::memory_order_relaxed);
  return out;
}

size_t rate_limiter::keys() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock{s.mutex};
    n += s.buckets.size();
  }
  return n;
}

} // namespace boxoffice::http
