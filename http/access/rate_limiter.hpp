#pragma once
// One abuse limit: a token bucket per key (a user id, a client address),
// refilled at `per_second` up to `burst`. Safe to call from any thread: the
// api actors and the listener's threads share one.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace boxoffice::http {

struct bucket_rule {
  double per_second = 0; // 0: the limit is off
  double burst = 1;
  bool enabled() const { return per_second > 0; }
};

struct limit_decision {
  bool allowed = true;
  int retry_after_seconds = 0; // when refused: until the next token, at least 1
};

class rate_limiter {
public:
  // At most `max_keys` buckets are kept; see take().
  rate_limiter(std::string name, bucket_rule rule, size_t max_keys);

  // Takes one token of `key`'s bucket at `now_ms` (a steady clock).
  // A key not seen for burst / per_second seconds has a full bucket, so its
  // entry may be dropped: when the table is full, those go first, then any
  // (forgetting a bucket only ever lets a client in sooner).
  limit_decision take(const std::string& key, int64_t now_ms);

  const std::string& name() const { return name_; }
  const bucket_rule& rule() const { return rule_; }
  uint64_t allowed() const { return allowed_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  size_t keys() const;

private:
  struct bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, bucket> buckets;
  };
  static constexpr size_t shard_count = 16;

  double refilled(const bucket& b, int64_t now_ms) const;
  void make_room(shard& s, int64_t now_ms);

  std::string name_;
  bucket_rule rule_;
  size_t max_keys_per_shard_;
  std::array<shard, shard_count> shards_;
  std::atomic<uint64_t> allowed_{0};
  std::atomic<uint64_t> refused_{0};
};

} // namespace boxoffice::http
