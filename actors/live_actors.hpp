#pragma once
// The entity actors a registry has spawned and that are still running, by id.
// Registries monitor each child; a child that stops (it passivates itself when
// idle) is forgotten, and the next request for its id spawns a fresh one.

#include <caf/actor_addr.hpp>
#include <cstdint>
#include <unordered_map>

namespace boxoffice {

template <class Handle> class live_actors {
public:
  // The running actor for `id`, or nullptr.
  const Handle* find(int64_t id) const {
    auto i = by_id_.find(id);
    return i == by_id_.end() ? nullptr : &i->second;
  }

  // Monitors `child` from `self` and remembers it under `id`.
  template <class Self> Handle watch(Self* self, int64_t id, Handle child) {
    self->monitor(child);
    by_id_.emplace(id, child);
    id_of_.emplace(child.address(), id);
    return child;
  }

  // Called from the registry's down handler.
  void forget(const caf::actor_addr& source) {
    if (auto i = id_of_.find(source); i != id_of_.end()) {
      by_id_.erase(i->second);
      id_of_.erase(i);
      passivated_++;
    }
  }

  size_t size() const { return by_id_.size(); }
  uint64_t passivated() const { return passivated_; }

private:
  std::unordered_map<int64_t, Handle> by_id_;
  std::unordered_map<caf::actor_addr, int64_t> id_of_;
  uint64_t passivated_ = 0;
};

} // namespace boxoffice
