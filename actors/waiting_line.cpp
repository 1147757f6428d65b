#include "actors/waiting_line.hpp"

namespace boxoffice {

namespace {

constexpr size_t min_capacity = 1024;

} // namespace

void waiting_line::join(int64_t place, const std::string& token) {
  if (!front_.emplace(place, token).second)
    return;
  if (covers(place))
    add(place, 1);
  else
    rebuild(); // counts the newcomer too
}

void waiting_line::leave(int64_t place) {
  if (front_.erase(place) != 1)
    return;
  if (front_.empty()) {
    // Nobody waits: give the memory back; the next arrival sets the base.
    tree_ = {};
    return;
  }
  add(place, -1);
  // A line that shrank far below its tree is rebuilt around who is left.
  auto span = front_.rbegin()->first - front_.begin()->first + 2;
  if (tree_.size() > min_capacity && static_cast<size_t>(span) * 8 < tree_.size())
    rebuild();
}

int64_t waiting_line::position(int64_t place) const {
  if (!front_.count(place))
    return 0;
  int64_t sum = 0;
  for (auto i = index(place); i > 0; i -= i & -i)
    sum += tree_[i];
  return sum;
}

void waiting_line::add(int64_t place, int32_t delta) {
  for (auto i = index(place); i < static_cast<int64_t>(tree_.size()); i += i & -i)
    tree_[i] += delta;
}

// Sizes the tree to twice the span of the people waiting (at least
// min_capacity), based at the longest waiter, and counts them all again.
void waiting_line::rebuild() {
  base_ = front_.begin()->first;
  auto span = static_cast<size_t>(front_.rbegin()->first - base_ + 2);
  size_t size = min_capacity;
  while (size < 2 * span)
    size *= 2;
  tree_.assign(size, 0);
  for (auto& entry : front_)
    add(entry.first, 1);
}

} // namespace boxoffice
