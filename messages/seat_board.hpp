#pragma once
// One schedule's seat map as a compact table shared by reference: a few bytes
// a seat (number, price, status) and a version that changes with every status
// change. Each seat actor writes its own seat's status; readers on any thread
// (the HTTP side, the schedule) read it without asking an actor, so a seat-map
// read crosses no mailbox. Numbers and prices never change after loading.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "messages/states.hpp"
#include "messages/types.hpp"

namespace boxoffice {

class seat_board {
public:
  struct seat {
    int32_t number = 0;
    int64_t price = 0;
    seat_status status = seat_status::available; // HOLDING is shown, and kept, as HELD
  };

  // One visible change: the seat at `position` became `status`, and the
  // board's version became `version`.
  struct change {
    uint64_t version = 0;
    uint32_t position = 0;
    seat_status status = seat_status::available;
  };

  static constexpr size_t npos = static_cast<size_t>(-1);
  // Changes kept for live seat maps to resume from (16 bytes each).
  static constexpr size_t default_log_size = 1024;

  // `seats` sorted by number or not: the board sorts them.
  seat_board(int64_t schedule_id, int64_t concert_id, std::vector<seat> seats,
             size_t log_size = default_log_size);

  int64_t schedule_id() const { return schedule_id_; }
  int64_t concert_id() const { return concert_id_; }
  // What the events of this schedule's bookings say about it. Set once,
  // before the board is shared.
  void describe(schedule_facts facts) { facts_ = std::move(facts); }
  const schedule_facts& facts() const { return facts_; }
  size_t size() const { return numbers_.size(); }

  // The position of a seat number, or npos. Venues may number from 101 or
  // skip numbers: this finds the number, never a position.
  size_t position(int32_t seat_number) const;
  int32_t number(size_t pos) const { return numbers_[pos]; }
  int64_t price(size_t pos) const { return prices_[pos]; }
  seat_status status(size_t pos) const;

  // Called by the one seat actor that owns `pos`. The status is stored before
  // the version moves, so a reader that sees a version sees every change up
  // to it.
  void set_status(size_t pos, seat_status status);

  // Unique among this process's boards (the high 32 bits number the board),
  // so a version never names the seats of a schedule's earlier board.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  int32_t available() const { return available_.load(std::memory_order_relaxed); }
  // Holds turned away because the board showed the seat taken.
  void note_refusal() { refusals_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

  // Appends the changes after version `after`, oldest first, up to the
  // current version. False (and nothing appended) when they are not all in
  // the log any more, or `after` is not a version of this board up to now:
  // then the reader needs the whole map again.
  bool changes_after(uint64_t after, std::vector<change>& out) const;

private:
  void log_change(size_t pos, seat_status status);

  int64_t schedule_id_;
  int64_t concert_id_;
  schedule_facts facts_;
  std::vector<int32_t> numbers_;
  std::vector<int64_t> prices_;
  std::unique_ptr<std::atomic<uint8_t>[]> statuses_;
  std::atomic<uint64_t> version_;
  std::atomic<int32_t> available_{0};
  std::atomic<uint64_t> refusals_{0};
  // A ring of the latest changes: version v sits at v % size.
  // The mutex also orders the version increments, so the ring holds every
  // version in turn.
  mutable std::mutex log_mutex_;
  std::vector<change> log_;
};

using seat_board_ptr = std::shared_ptr<seat_board>;

} // namespace boxoffice
