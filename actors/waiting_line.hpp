#pragma once
// The order of the waiting room: places (arrival numbers) of the users still
// waiting, with the exact position of any place in O(log n) even when people
// ahead leave. A Fenwick tree counts who is still there.
//
// Places come from a database sequence that never shrinks, so the tree does
// not start at place 1: it covers only the span from the longest waiter to
// the newest arrival, and is rebuilt around that span when it no longer fits.
// Its size is bounded by twice the span of the people waiting now, not by
// the number of tokens ever issued.

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
  // Who waits, in order of place (place, token). leave() invalidates only
  // the iterator of the place that left.
  using const_iterator = std::map<int64_t, std::string>::const_iterator;
  const_iterator begin() const { return front_.begin(); }
  const_iterator end() const { return front_.end(); }
  // The first place at or behind `place`.
  const_iterator from(int64_t place) const { return front_.lower_bound(place); }
  // Slots of the Fenwick tree: what the line costs in memory.
  size_t capacity() const { return tree_.size(); }

private:
  // Tree index of a place; 0 and out-of-range values mean "not covered".
  int64_t index(int64_t place) const { return place - base_ + 1; }
  bool covers(int64_t place) const {
    return place >= base_ && index(place) < static_cast<int64_t>(tree_.size());
  }
  void add(int64_t place, int32_t delta);
  void rebuild();

  int64_t base_ = 0;          // the place at tree index 1
  std::vector<int32_t> tree_; // Fenwick tree over places base_ ...
  std::map<int64_t, std::string> front_;
};

} // namespace boxoffice
