#include "messages/seat_board.hpp"

#include <algorithm>

namespace boxoffice {

namespace {

seat_status shown(seat_status s) {
  return s == seat_status::holding ? seat_status::held : s;
}

} // namespace

namespace {

std::atomic<uint64_t> boards_made{0};

} // namespace

seat_board::seat_board(int64_t schedule_id, int64_t concert_id, std::vector<seat> seats,
                       size_t log_size)
    : schedule_id_(schedule_id), concert_id_(concert_id), version_((++boards_made) << 32),
      log_(std::max<size_t>(log_size, 1)) {
  std::sort(seats.begin(), seats.end(),
            [](const seat& a, const seat& b) { return a.number < b.number; });
  numbers_.reserve(seats.size());
  prices_.reserve(seats.size());
  statuses_ = std::make_unique<std::atomic<uint8_t>[]>(seats.size());
  int32_t available = 0;
  for (size_t i = 0; i < seats.size(); ++i) {
    numbers_.push_back(seats[i].number);
    prices_.push_back(seats[i].price);
    auto s = shown(seats[i].status);
    statuses_[i].store(static_cast<uint8_t>(s), std::memory_order_relaxed);
    available += s == seat_status::available;
  }
  available_.store(available, std::memory_order_relaxed);
}

size_t seat_board::position(int32_t seat_number) const {
  auto i = std::lower_bound(numbers_.begin(), numbers_.end(), seat_number);
  if (i == numbers_.end() || *i != seat_number)
    return npos;
  return static_cast<size_t>(i - numbers_.begin());
}

seat_status seat_board::status(size_t pos) const {
  return static_cast<seat_status>(statuses_[pos].load(std::memory_order_relaxed));
}

void seat_board::set_status(size_t pos, seat_status status) {
  auto now = shown(status);
  auto before = static_cast<seat_status>(
    statuses_[pos].exchange(static_cast<uint8_t>(now), std::memory_order_relaxed));
  if (before == now)
    return;
  if (before == seat_status::available)
    available_.fetch_sub(1, std::memory_order_relaxed);
  else if (now == seat_status::available)
    available_.fetch_add(1, std::memory_order_relaxed);
  log_change(pos, now);
}

void seat_board::log_change(size_t pos, seat_status status) {
  std::lock_guard lock{log_mutex_};
  auto v = version_.load(std::memory_order_relaxed) + 1;
  log_[v % log_.size()] = change{v, static_cast<uint32_t>(pos), status};
  version_.store(v, std::memory_order_release);
}

bool seat_board::changes_after(uint64_t after, std::vector<change>& out) const {
  std::lock_guard lock{log_mutex_};
  auto current = version_.load(std::memory_order_relaxed);
  bool same_board = after >> 32 == current >> 32;
  if (!same_board || after > current || current - after > log_.size())
    return false;
  for (auto v = after + 1; v <= current; ++v)
    out.push_back(log_[v % log_.size()]);
  return true;
}

} // namespace boxoffice
