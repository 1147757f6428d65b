#pragma once
// The order of the waiting room: places (arrival numbers) of the users still
// waiting, with the exact position of any place in O(log n) even when people
// ahead leave. A Fenwick tree over place numbers counts who is still there.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace boxoffice {

class waiting_line {
public:
  void join(int64_t place, const std::string& token);
  void leave(int64_t place);
  // 1-based position among those waiting; 0 if not waiting.
  int64_t position(int64_t place) const;
  size_t size() const { return front_.size(); }
  bool empty() const { return front_.empty(); }
  // The token of whoever waits longest.
  const std::string& first() const { return front_.begin()->second; }
  int64_t first_place() const { return front_.begin()->first; }

private:
  void add(int64_t place, int32_t delta);
  void grow(int64_t place);

  std::vector<int32_t> tree_; // Fenwick tree, index = place
  std::map<int64_t, std::string> front_;
};

} // namespace boxoffice
