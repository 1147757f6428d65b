#include "actors/schedule_directory.hpp"

#include <mutex>

namespace boxoffice {

void schedule_directory::publish(int64_t schedule_id, entry e) {
  std::unique_lock lock{mutex_};
  entries_[schedule_id] = std::move(e);
}

void schedule_directory::withdraw(int64_t schedule_id, const caf::actor_addr& actor) {
  std::unique_lock lock{mutex_};
  auto i = entries_.find(schedule_id);
  if (i != entries_.end() && i->second.actor.address() == actor)
    entries_.erase(i);
}

std::optional<schedule_directory::entry> schedule_directory::find(int64_t schedule_id) const {
  std::shared_lock lock{mutex_};
  auto i = entries_.find(schedule_id);
  if (i == entries_.end())
    return std::nullopt;
  return i->second;
}

size_t schedule_directory::size() const {
  std::shared_lock lock{mutex_};
  return entries_.size();
}

} // namespace boxoffice
