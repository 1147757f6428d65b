#include <catch2/catch.hpp>

#include "http/access/rate_limiter.hpp"

using namespace boxoffice::http;

TEST_CASE("a bucket lets a burst through, then refills at its rate", "[limits]") {
  rate_limiter limit{"hold", {2, 3}, 1000}; // 2 per second, 3 at once
  for (int i = 0; i < 3; ++i)
    CHECK(limit.take("u1", 0).allowed);
  auto refused = limit.take("u1", 0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_seconds == 1); // half a second, rounded up
  CHECK_FALSE(limit.take("u1", 400).allowed);
  CHECK(limit.take("u1", 500).allowed); // one token back after 500 ms
  CHECK(limit.take("u2", 500).allowed); // other keys are not affected
  CHECK(limit.allowed() == 5);
  CHECK(limit.refused() == 2);
}

TEST_CASE("Retry-After covers the wait for a whole token", "[limits]") {
  rate_limiter limit{"payment", {0.1, 1}, 1000}; // one every 10 s
  CHECK(limit.take("u", 0).allowed);
  CHECK(limit.take("u", 0).retry_after_seconds == 10);
  CHECK(limit.take("u", 9000).retry_after_seconds == 1);
  CHECK(limit.take("u", 10000).allowed);
}

TEST_CASE("a limit at zero per second is off", "[limits]") {
  rate_limiter limit{"address", {0, 1}, 1000};
  for (int i = 0; i < 100; ++i)
    CHECK(limit.take("1.2.3.4", 0).allowed);
  CHECK(limit.keys() == 0);
}

TEST_CASE("the table stays bounded", "[limits]") {
  rate_limiter limit{"address", {1, 2}, 160}; // 10 keys per shard
  for (int i = 0; i < 10000; ++i)
    limit.take("client-" + std::to_string(i), 0);
  CHECK(limit.keys() <= 160);
  CHECK(limit.keys() >= 16);
}

TEST_CASE("forgetting an idle client's bucket changes nothing for it", "[limits]") {
  rate_limiter limit{"hold", {1, 2}, 16}; // one key per shard: every new key evicts
  CHECK(limit.take("a", 0).allowed);
  for (int i = 0; i < 100; ++i)
    limit.take("other-" + std::to_string(i), 5000);
  // Whether or not "a" was forgotten, 5 s later its bucket is full again.
  CHECK(limit.take("a", 5000).allowed);
  CHECK(limit.take("a", 5000).allowed);
}
