#include "actors/waiting_line.hpp"

namespace boxoffice {

void waiting_line::join(int64_t place, const std::string& token) {
  if (!front_.emplace(place, token).second)
    return;
  grow(place);
  add(place, 1);
}

void waiting_line::leave(int64_t place) {
  if (front_.erase(place) == 1)
    add(place, -1);
}

int64_t waiting_line::position(int64_t place) const {
  if (!front_.count(place))
    return 0;
  int64_t sum = 0;
  for (auto i = place; i > 0; i -= i & -i)
    sum += tree_[i];
  return sum;
}

void waiting_line::add(int64_t place, int32_t delta) {
  for (auto i = place; i < static_cast<int64_t>(tree_.size()); i += i & -i)
    tree_[i] += delta;
}

// Doubles the tree until it covers `place`, rebuilding it from the members.
void waiting_line::grow(int64_t place) {
  if (place < static_cast<int64_t>(tree_.size()))
    return;
  size_t size = tree_.empty() ? 1024 : tree_.size();
  while (static_cast<int64_t>(size) <= place)
    size *= 2;
  tree_.assign(size, 0);
  for (auto& [p, token] : front_)
    if (p != place)
      add(p, 1);
}

} // namespace boxoffice
