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

TEST_CASE("the tree does not grow with every place ever issued") {
  // Places come from a sequence that never shrinks: a million arrivals, ten
  // waiting at any time, must not cost a million slots.
  waiting_line line;
  for (int64_t place = 1; place <= 1'000'000; ++place) {
    line.join(place, "t");
    if (place > 10)
      line.leave(place - 10);
  }
  CHECK(line.size() == 10);
  CHECK(line.capacity() <= 1024);
  CHECK(line.position(1'000'000) == 10);
  CHECK(line.position(999'991) == 1);
}

TEST_CASE("the tree shrinks back after a crowd has gone") {
  waiting_line line;
  for (int64_t place = 1; place <= 100'000; ++place)
    line.join(place, "t");
  CHECK(line.capacity() >= 100'000);
  for (int64_t place = 1; place < 100'000; ++place)
    line.leave(place);
  CHECK(line.capacity() <= 1024);
  CHECK(line.position(100'000) == 1);
  line.leave(100'000);
  CHECK(line.capacity() == 0);
}

TEST_CASE("a place that arrives behind the base is counted in order") {
  // Two tokens issued concurrently can be adopted out of sequence order.
  waiting_line line;
  line.join(5000, "late");
  line.join(4999, "early");
  line.join(7000, "last");
  CHECK(line.position(4999) == 1);
  CHECK(line.position(5000) == 2);
  CHECK(line.position(7000) == 3);
  CHECK(line.first() == "early");
}
