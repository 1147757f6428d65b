#pragma once
// The loaded schedules, published for readers on any thread: the HTTP side
// finds a schedule's actor and seat board here without asking the catalogue.
// A schedule publishes itself once its seats are loaded; the catalogue
// withdraws it when the actor goes down, so no handle outlives its actor.

#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "messages/interfaces.hpp"
#include "messages/seat_board.hpp"

namespace boxoffice {

class schedule_directory {
public:
  struct entry {
    schedule_actor actor;
    seat_board_ptr board;
  };

  void publish(int64_t schedule_id, entry e);
  // Only if `actor` is still the one published: a successor stays listed.
  void withdraw(int64_t schedule_id, const caf::actor_addr& actor);
  std::optional<entry> find(int64_t schedule_id) const;
  size_t size() const;

private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<int64_t, entry> entries_;
};

} // namespace boxoffice
