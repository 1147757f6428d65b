#include "actors/delivery_policy.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <set>

using namespace boxoffice;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using time_point = circuit_breaker::time_point;

time_point t0() {
  return time_point{} + 1h;
}

// Fills a fresh breaker's window with `failures` failures among `calls` calls (failures last).
void feed(circuit_breaker& cb, int calls, int failures, time_point now) {
  for (int i = 0; i < calls; ++i) {
    REQUIRE(cb.allow(now));
    cb.record(i < calls - failures, now);
  }
}

} // namespace

TEST_CASE("backoff bounds grow exponentially and stop at the cap", "[delivery_policy][backoff]") {
  backoff b{100ms, 10s, 1};
  CHECK(b.bound(0) == 100ms);
  CHECK(b.bound(1) == 200ms);
  CHECK(b.bound(2) == 400ms);
  CHECK(b.bound(6) == 6400ms);
  CHECK(b.bound(7) == 10s);
  CHECK(b.bound(8) == 10s);
  CHECK(b.bound(63) == 10s);
  CHECK(b.bound(1000) == 10s);
  CHECK(b.bound(-5) == 100ms);
  // No overflow with a cap near the representable maximum.
  backoff huge{1ms, milliseconds{std::numeric_limits<milliseconds::rep>::max()}, 1};
  CHECK(huge.bound(62) == milliseconds{int64_t{1} << 62});
  CHECK(huge.bound(64) == milliseconds{std::numeric_limits<milliseconds::rep>::max()});
  // Base above the cap: the cap wins.
  CHECK(backoff{5s, 1s, 1}.bound(0) == 1s);
}

TEST_CASE("backoff full jitter stays within [0, bound] and spreads out",
          "[delivery_policy][backoff]") {
  backoff b{100ms, 2s, 42};
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto upper = b.bound(attempt);
    std::set<milliseconds::rep> seen;
    milliseconds lowest = upper, highest = 0ms;
    for (int i = 0; i < 500; ++i) {
      const auto d = b.delay(attempt, std::nullopt);
      REQUIRE(d >= 0ms);
      REQUIRE(d <= upper);
      seen.insert(d.count());
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    // Full jitter: the whole range is used, not just the top.
    CHECK(seen.size() > 50);
    CHECK(lowest < upper / 4);
    CHECK(highest > upper * 3 / 4);
  }
}

TEST_CASE("backoff is deterministic for a seed", "[delivery_policy][backoff]") {
  backoff a{100ms, 30s, 7}, b{100ms, 30s, 7}, c{100ms, 30s, 8};
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto da = a.delay(i % 8, std::nullopt);
    CHECK(da == b.delay(i % 8, std::nullopt));
    differs = differs || da != c.delay(i % 8, std::nullopt);
  }
  CHECK(differs);
}

TEST_CASE("backoff with a zero base never waits", "[delivery_policy][backoff]") {
  backoff b{0ms, 0ms, 3};
  CHECK(b.delay(0, std::nullopt) == 0ms);
  CHECK(b.delay(10, std::nullopt) == 0ms);
}

TEST_CASE("backoff honours Retry-After as a floor, capped", "[delivery_policy][backoff]") {
  backoff b{100ms, 1s, 9};
  for (int i = 0; i < 100; ++i) {
    // Retry-After above the jitter range: exactly Retry-After.
    REQUIRE(b.delay(0, seconds{7}) == 7s);
    // Retry-After below the jitter bound: at least Retry-After, at most the bound.
    const auto d = b.delay(10, seconds{0});
    REQUIRE(d >= 0ms);
    REQUIRE(d <= 1s);
  }
  backoff wide{10s, 60s, 9};
  for (int i = 0; i < 100; ++i) {
    const auto d = wide.delay(5, seconds{1});
    REQUIRE(d >= 1s);
    REQUIRE(d <= 60s);
  }
  // Capped at ten minutes, also for absurd values; negative values mean "no floor".
  CHECK(b.delay(0, seconds{86400}) == backoff::max_retry_after);
  CHECK(b.delay(0, seconds{std::numeric_limits<seconds::rep>::max()}) == 10min);
  CHECK(b.delay(0, seconds{-5}) <= 100ms);
}

TEST_CASE("classify maps statuses and transport errors to outcomes",
          "[delivery_policy][classify]") {
  struct row {
    int status;
    const char* error;
    delivery_outcome expected;
  };
  const row table[] = {
    {200, "", delivery_outcome::delivered},
    {201, "", delivery_outcome::delivered},
    {202, "", delivery_outcome::delivered},
    {204, "", delivery_outcome::delivered},
    {299, "", delivery_outcome::delivered},
    {408, "", delivery_outcome::retry},
    {429, "", delivery_outcome::retry},
    {500, "", delivery_outcome::retry},
    {502, "", delivery_outcome::retry},
    {503, "", delivery_outcome::retry},
    {504, "", delivery_outcome::retry},
    {599, "", delivery_outcome::retry},
    {0, "connect: Connection refused", delivery_outcome::retry},
    {0, "timeout (response)", delivery_outcome::retry},
    {0, "stopped", delivery_outcome::retry},
    {0, "", delivery_outcome::retry},
    {400, "", delivery_outcome::dead},
    {401, "", delivery_outcome::dead},
    {403, "", delivery_outcome::dead},
    {404, "", delivery_outcome::dead},
    {409, "", delivery_outcome::dead},
    {410, "", delivery_outcome::dead},
    {413, "", delivery_outcome::dead},
    {422, "", delivery_outcome::dead},
    {499, "", delivery_outcome::dead},
    {100, "", delivery_outcome::dead},
    {101, "", delivery_outcome::dead},
    {301, "", delivery_outcome::dead},
    {302, "", delivery_outcome::dead},
    {304, "", delivery_outcome::dead},
    {600, "", delivery_outcome::dead},
  };
  for (const auto& r : table) {
    INFO("status " << r.status << " error '" << r.error << "'");
    CHECK(classify(r.status, r.error) == r.expected);
  }
  CHECK(std::string(to_string(delivery_outcome::delivered)) == "delivered");
  CHECK(std::string(to_string(delivery_outcome::retry)) == "retry");
  CHECK(std::string(to_string(delivery_outcome::dead)) == "dead");
}

TEST_CASE("breaker defaults match the design", "[delivery_policy][breaker]") {
  circuit_breaker cb;
  CHECK(cb.config().window == 20);
  CHECK(cb.config().failure_percent == 50);
  CHECK(cb.config().open_for == 30s);
  CHECK(cb.config().half_open_probes == 3);
  CHECK(cb.state() == breaker_state::closed);
  CHECK(cb.state_name() == "closed");
  CHECK(cb.opened_count() == 0);
  CHECK(cb.rejected_count() == 0);
}

TEST_CASE("breaker stays closed until the window is full", "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  // 19 failures in a row: the window of 20 is not full yet.
  for (int i = 0; i < 19; ++i) {
    REQUIRE(cb.allow(now));
    cb.record(false, now);
  }
  CHECK(cb.state() == breaker_state::closed);
  CHECK(cb.calls_in_window() == 19);
  CHECK(cb.failures_in_window() == 19);
  // The 20th call fills it: 20/20 failures opens.
  REQUIRE(cb.allow(now));
  cb.record(false, now);
  CHECK(cb.state() == breaker_state::open);
  CHECK(cb.opened_count() == 1);
}

TEST_CASE("breaker opens at exactly 50 % failures over a full window",
          "[delivery_policy][breaker]") {
  SECTION("9 of 20 failures: stays closed") {
    circuit_breaker cb;
    feed(cb, 20, 9, t0());
    CHECK(cb.state() == breaker_state::closed);
    CHECK(cb.failures_in_window() == 9);
  }
  SECTION("10 of 20 failures: opens") {
    circuit_breaker cb;
    feed(cb, 20, 10, t0());
    CHECK(cb.state() == breaker_state::open);
    CHECK(cb.state_name() == "open");
    CHECK(cb.open_until() == t0() + 30s);
  }
  SECTION("the window slides: old failures fall out") {
    circuit_breaker cb;
    const auto now = t0();
    feed(cb, 20, 9, now); // 11 successes then 9 failures
    // 20 more successes push every failure out of the window.
    for (int i = 0; i < 20; ++i) {
      REQUIRE(cb.allow(now));
      cb.record(true, now);
    }
    CHECK(cb.failures_in_window() == 0);
    CHECK(cb.calls_in_window() == 20);
    // Alternate success, failure, ...: after 19 calls the window is 1 old success plus
    // 10 new successes and 9 failures: 45 %, closed.
    for (int i = 0; i < 19; ++i) {
      REQUIRE(cb.allow(now));
      cb.record(i % 2 == 0, now);
    }
    CHECK(cb.state() == breaker_state::closed);
    CHECK(cb.failures_in_window() == 9);
    // One more failure pushes the old success out: 10 of 20, open.
    REQUIRE(cb.allow(now));
    cb.record(false, now);
    CHECK(cb.state() == breaker_state::open);
  }
}

TEST_CASE("breaker rejects while open and counts rejections", "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  feed(cb, 20, 20, now);
  REQUIRE(cb.state() == breaker_state::open);
  CHECK_FALSE(cb.allow(now));
  CHECK_FALSE(cb.allow(now + 10s));
  CHECK_FALSE(cb.allow(now + 29999ms));
  CHECK(cb.rejected_count() == 3);
  CHECK(cb.state() == breaker_state::open);
  // Late results of calls started before opening change nothing.
  cb.record(true, now + 1s);
  cb.record(false, now + 1s);
  CHECK(cb.state() == breaker_state::open);
  CHECK(cb.open_until() == now + 30s);
}

TEST_CASE("breaker goes half-open after open_for and closes after 3 successful probes",
          "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  feed(cb, 20, 20, now);
  const auto later = now + 30s;
  REQUIRE(cb.allow(later));
  CHECK(cb.state() == breaker_state::half_open);
  CHECK(cb.state_name() == "half_open");
  REQUIRE(cb.allow(later));
  REQUIRE(cb.allow(later));
  CHECK(cb.probes_in_flight() == 3);
  cb.record(true, later);
  cb.record(true, later);
  CHECK(cb.state() == breaker_state::half_open);
  cb.record(true, later);
  CHECK(cb.state() == breaker_state::closed);
  CHECK(cb.calls_in_window() == 0); // a fresh window
  CHECK(cb.opened_count() == 1);
  CHECK(cb.allow(later));
}

TEST_CASE("breaker reopens on a failed probe", "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  feed(cb, 20, 20, now);
  const auto later = now + 31s;
  REQUIRE(cb.allow(later));
  REQUIRE(cb.allow(later));
  cb.record(true, later);
  cb.record(false, later + 1s);
  CHECK(cb.state() == breaker_state::open);
  CHECK(cb.opened_count() == 2);
  CHECK(cb.open_until() == later + 1s + 30s);
  CHECK_FALSE(cb.allow(later + 2s));
  // After another open period it probes again from scratch.
  CHECK(cb.allow(later + 31s));
  CHECK(cb.state() == breaker_state::half_open);
  CHECK(cb.probes_in_flight() == 1);
}

TEST_CASE("breaker limits probes in flight while half-open", "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  feed(cb, 20, 20, now);
  const auto later = now + 30s;
  CHECK(cb.allow(later));
  CHECK(cb.allow(later));
  CHECK(cb.allow(later));
  const auto rejected_before = cb.rejected_count();
  CHECK_FALSE(cb.allow(later)); // a 4th probe is refused
  CHECK_FALSE(cb.allow(later + 1s));
  CHECK(cb.rejected_count() == rejected_before + 2);
  // A success concludes one probe but counts toward closing: the budget of 3 stays spent.
  cb.record(true, later);
  CHECK_FALSE(cb.allow(later));
  CHECK(cb.probes_in_flight() == 2);
  cb.record(true, later);
  cb.record(true, later);
  CHECK(cb.state() == breaker_state::closed);
}

TEST_CASE("breaker ignores results in half-open that no probe accounts for",
          "[delivery_policy][breaker]") {
  circuit_breaker cb;
  const auto now = t0();
  feed(cb, 20, 20, now);
  REQUIRE(cb.allow(now + 30s)); // half-open, one probe out
  cb.record(true, now + 30s);   // the probe
  cb.record(false, now + 30s);  // a straggler from before the breaker opened
  CHECK(cb.state() == breaker_state::half_open);
}

TEST_CASE("breaker config is sanitised", "[delivery_policy][breaker]") {
  circuit_breaker cb{circuit_breaker_config{0, 150, -1s, 0}};
  CHECK(cb.config().window == 1);
  CHECK(cb.config().failure_percent == 100);
  CHECK(cb.config().open_for == 0s);
  CHECK(cb.config().half_open_probes == 1);
  const auto now = t0();
  REQUIRE(cb.allow(now));
  cb.record(false, now);
  CHECK(cb.state() == breaker_state::open);
  CHECK(cb.allow(now)); // open_for 0: half-open at once
  cb.record(true, now);
  CHECK(cb.state() == breaker_state::closed);
}
