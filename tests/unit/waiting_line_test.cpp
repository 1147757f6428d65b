#include <catch2/catch.hpp>

#include "actors/waiting_line.hpp"

using boxoffice::waiting_line;

TEST_CASE("positions stay exact when people ahead leave") {
  waiting_line line;
  for (int64_t place = 1; place <= 5; ++place)
    line.join(place, "t" + std::to_string(place));
  CHECK(line.position(5) == 5);
  line.leave(2);
  line.leave(4);
  CHECK(line.position(5) == 3);
  CHECK(line.position(3) == 2);
  CHECK(line.position(2) == 0); // gone
  CHECK(line.first() == "t1");
  CHECK(line.size() == 3);
}

TEST_CASE("the line grows past its first capacity without losing anyone") {
  waiting_line line;
  for (int64_t place = 1; place <= 5000; place += 2)
    line.join(place, std::to_string(place));
  CHECK(line.position(4999) == 2500);
  line.leave(1);
  CHECK(line.position(4999) == 2499);
  CHECK(line.first_place() == 3);
}
