#pragma once
// The queue tokens that are ACTIVE now, published by the waiting room for
// readers on any thread: a request with an active token goes on without a
// round trip to the waiting room. Readers record when they saw a token used;
// the waiting room folds that into the token's expiry on its next tick.
// Everything else (waiting, expired, unknown tokens, another user's token)
// is not decided here: the caller asks the waiting room, which says why.

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace boxoffice {

class active_tokens {
public:
  // True when `token` is active and belongs to `user_id` (0: any user);
  // then it is marked as used at `now_ms`.
  bool admits(std::string_view token, int64_t user_id, int64_t now_ms) const;

  void add(const std::string& token, int64_t user_id);
  void remove(const std::string& token);
  // When a reader last used the token (epoch ms), 0 if never or unknown.
  int64_t last_used(const std::string& token) const;
  size_t size() const;

private:
  struct pass {
    int64_t user_id = 0;
    mutable std::atomic<int64_t> last_used_ms{0};
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<pass>> passes_;
  const pass* find(std::string_view token) const;
};

} // namespace boxoffice
