// The seat board: seats found by number, statuses shown as readers see them,
// and a version that moves with every visible change and only then.
#include <catch2/catch.hpp>

#include "messages/seat_board.hpp"

using namespace boxoffice;

namespace {

seat_board venue_101_to_200() {
  std::vector<seat_board::seat> seats;
  for (int32_t n : {200, 101, 105, 102}) // unordered on purpose
    seats.push_back({n, 1000 + n, seat_status::available});
  seats[0].status = seat_status::sold;
  return seat_board{7, 3, seats};
}

} // namespace

TEST_CASE("seats are looked up by number, not by position") {
  auto board = venue_101_to_200();
  REQUIRE(board.position(105) != seat_board::npos);
  CHECK(board.number(board.position(105)) == 105);
  CHECK(board.price(board.position(200)) == 1200);
  CHECK(board.status(board.position(200)) == seat_status::sold);
  CHECK(board.position(1) == seat_board::npos); // position 1 is seat 102, not seat 1
  CHECK(board.position(3) == seat_board::npos);
  CHECK(board.position(103) == seat_board::npos); // a gap in the numbering
  CHECK(board.position(0) == seat_board::npos);
  CHECK(board.position(-5) == seat_board::npos);
  CHECK(board.position(201) == seat_board::npos);
  CHECK(board.schedule_id() == 7);
  CHECK(board.concert_id() == 3);
}

TEST_CASE("the version moves with every visible change, and counts follow") {
  auto board = venue_101_to_200();
  auto v0 = board.version();
  CHECK(board.available() == 3);
  auto p = board.position(101);
  board.set_status(p, seat_status::holding);
  CHECK(board.status(p) == seat_status::held); // a hold in flight shows as HELD
  CHECK(board.version() == v0 + 1);
  CHECK(board.available() == 2);
  board.set_status(p, seat_status::held); // HOLDING -> HELD looks the same: no new version
  CHECK(board.version() == v0 + 1);
  board.set_status(p, seat_status::sold);
  CHECK(board.version() == v0 + 2);
  CHECK(board.available() == 2);
  board.set_status(p, seat_status::available);
  CHECK(board.version() == v0 + 3);
  CHECK(board.available() == 3);
}

TEST_CASE("the change log resumes after a version with every change since, in order") {
  auto board = venue_101_to_200();
  auto v0 = board.version();
  std::vector<seat_board::change> changes;
  REQUIRE(board.changes_after(v0, changes));
  CHECK(changes.empty()); // up to date: nothing to send
  board.set_status(board.position(101), seat_status::held);
  board.set_status(board.position(101), seat_status::held); // no visible change, no entry
  board.set_status(board.position(102), seat_status::sold);
  REQUIRE(board.changes_after(v0, changes));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].version == v0 + 1);
  CHECK(board.number(changes[0].position) == 101);
  CHECK(changes[0].status == seat_status::held);
  CHECK(changes[1].version == v0 + 2);
  CHECK(board.number(changes[1].position) == 102);
  CHECK(changes[1].status == seat_status::sold);
  changes.clear();
  REQUIRE(board.changes_after(v0 + 1, changes));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].version == v0 + 2);
}

TEST_CASE("a version the log cannot resume from is told apart") {
  std::vector<seat_board::seat> seats{{1, 10, seat_status::available}};
  seat_board board{1, 1, seats, 4};
  seat_board other{1, 1, seats, 4};
  auto v0 = board.version();
  auto p = board.position(1);
  for (int i = 0; i < 6; ++i) // the ring of 4 wraps: v0+1 and v0+2 are gone
    board.set_status(p, i % 2 == 0 ? seat_status::held : seat_status::available);
  std::vector<seat_board::change> changes;
  CHECK_FALSE(board.changes_after(v0, changes));
  CHECK_FALSE(board.changes_after(v0 + 1, changes));
  CHECK(changes.empty());
  REQUIRE(board.changes_after(v0 + 2, changes)); // exactly the last 4 are kept
  REQUIRE(changes.size() == 4);
  for (size_t i = 0; i < 4; ++i)
    CHECK(changes[i].version == v0 + 3 + i);
  CHECK(changes.back().status == seat_status::available);
  changes.clear();
  CHECK_FALSE(board.changes_after(board.version() + 1, changes)); // from the future
  CHECK_FALSE(board.changes_after(other.version(), changes));     // another board's
  CHECK_FALSE(board.changes_after(0, changes));
}
