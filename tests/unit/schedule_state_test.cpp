// The schedule's seat view finds a seat by its number, whatever the numbering.
#include <catch2/catch.hpp>

#include "actors/schedule_actor.hpp"

using namespace boxoffice;

TEST_CASE("seats are looked up by number, not by position") {
  schedule_state st;
  for (int32_t n : {101, 102, 105, 200})
    st.seats.push_back({n, 1000 + n, seat_status::available, 0, {}});
  REQUIRE(st.slot(105) != nullptr);
  CHECK(st.slot(105)->seat_number == 105);
  CHECK(st.slot(200)->price == 1200);
  CHECK(st.slot(1) == nullptr); // position 1 is seat 101, not seat 1
  CHECK(st.slot(3) == nullptr);
  CHECK(st.slot(103) == nullptr); // a gap in the numbering
  CHECK(st.slot(0) == nullptr);
  CHECK(st.slot(-5) == nullptr);
  CHECK(st.slot(201) == nullptr);
}
