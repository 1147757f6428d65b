#include "actors/active_tokens.hpp"

#include <mutex>

namespace boxoffice {

const active_tokens::pass* active_tokens::find(std::string_view token) const {
  // Tokens are short; a temporary key keeps the map's plain std::string hash.
  auto i = passes_.find(std::string{token});
  return i == passes_.end() ? nullptr : i->second.get();
}

bool active_tokens::admits(std::string_view token, int64_t user_id, int64_t now_ms) const {
  std::shared_lock lock{mutex_};
  auto p = find(token);
  if (!p || (user_id != 0 && p->user_id != user_id))
    return false;
  if (p->last_used_ms.load(std::memory_order_relaxed) < now_ms)
    p->last_used_ms.store(now_ms, std::memory_order_relaxed);
  return true;
}

void active_tokens::add(const std::string& token, int64_t user_id) {
  auto p = std::make_unique<pass>();
  p->user_id = user_id;
  std::unique_lock lock{mutex_};
  passes_[token] = std::move(p);
}

void active_tokens::remove(const std::string& token) {
  std::unique_lock lock{mutex_};
  passes_.erase(token);
}

int64_t active_tokens::last_used(const std::string& token) const {
  std::shared_lock lock{mutex_};
  auto p = find(token);
  return p ? p->last_used_ms.load(std::memory_order_relaxed) : 0;
}

size_t active_tokens::size() const {
  std::shared_lock lock{mutex_};
  return passes_.size();
}

} // namespace boxoffice
