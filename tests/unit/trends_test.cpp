// The console's trend window: rates and latency quantiles come from the
// difference of two cumulative readings; the window keeps its newest samples.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/admin/trend_window.hpp"

using namespace boxoffice::http;

namespace {

trend_reading reading_at(std::chrono::milliseconds since, const http_metrics& m) {
  trend_reading r;
  r.taken = std::chrono::steady_clock::time_point{} + since;
  r.wall_ms = 1'000'000 + since.count();
  r.traffic = m.snapshot();
  return r;
}

caf::settings dispatcher_status(int64_t delivered, int64_t retried, int64_t dead,
                                const char* breaker) {
  caf::settings s;
  s["delivered"] = delivered;
  s["retried"] = retried;
  s["deadTotal"] = dead;
  s["pending"] = int64_t{7};
  s["oldestPendingAgeMs"] = int64_t{2500};
  s["breaker"] = breaker;
  return s;
}

} // namespace

TEST_CASE("a quantile interpolates inside the bucket that holds its rank") {
  std::array<uint64_t, http_metrics::bounds.size() + 1> b{};
  CHECK_FALSE(bucket_quantile(b, 0.5));
  b[2] = 10; // ten answers in (1 ms, 2.5 ms]
  CHECK(*bucket_quantile(b, 0.5) == Approx(0.00175));
  CHECK(*bucket_quantile(b, 0.99) == Approx(0.001 + 0.0015 * 0.99));
  b[0] = 90; // ninety more at or below 0.5 ms
  CHECK(*bucket_quantile(b, 0.5) == Approx(0.0005 * 50.0 / 90.0));
  CHECK(*bucket_quantile(b, 0.99) == Approx(0.001 + 0.0015 * 0.9));
  b.back() = 1000; // most beyond the last bound: read as that bound
  CHECK(*bucket_quantile(b, 0.99) == Approx(2.5));
}

TEST_CASE("a sample's rates and quantiles are those of the interval only") {
  http_metrics m;
  for (int i = 0; i < 100; ++i)
    m.observe(hold_route, 201, 0.2); // before the interval: must not count
  auto before = reading_at(std::chrono::milliseconds(0), m);
  before.queue = caf::settings{};
  (*before.queue)["admittedTotal"] = int64_t{10};
  before.dispatcher = dispatcher_status(100, 5, 1, "closed");
  before.shed = 3;
  for (int i = 0; i < 4; ++i)
    m.observe(hold_route, 201, 0.003);
  m.observe(hold_route, 409, 0.003);
  m.observe(payment_route, 201, 0.04);
  m.observe(payment_route, 503, 0.04);
  auto now = reading_at(std::chrono::milliseconds(2000), m); // two seconds later
  now.queue = caf::settings{};
  (*now.queue)["admittedTotal"] = int64_t{30};
  (*now.queue)["waiting"] = int64_t{12};
  now.dispatcher = dispatcher_status(140, 9, 3, "half_open");
  now.shed = 7;
  caf::settings actors;
  actors["seat"] = int64_t{42};
  now.actors = actors;

  auto s = sample_between(before, now);
  CHECK(s.at_ms == 1'002'000);
  CHECK(s.requests_per_second.at(hold_route)[0] == Approx(2.0)); // 4 in 2 s
  CHECK(s.requests_per_second.at(hold_route)[2] == Approx(0.5));
  CHECK(s.requests_per_second.at(payment_route)[3] == Approx(0.5));
  CHECK(s.holds_per_second == Approx(2.0));
  CHECK(s.payments_per_second == Approx(0.5));
  CHECK(s.shed_per_second == Approx(2.0));
  // The 100 slow holds before the interval leave the interval's p99 alone.
  CHECK(s.p99_ms.at(hold_route) < 5.0);
  CHECK(s.p50_ms.at(payment_route) > 25.0);
  CHECK(*s.admitted_per_second == Approx(10.0));
  CHECK(*s.waiting == 12);
  CHECK_FALSE(s.active); // not in the status: a gap, not a zero
  CHECK(*s.deliveries_per_second == Approx(20.0));
  CHECK(*s.failures_per_second == Approx(3.0)); // (4 retried + 2 dead) / 2 s
  CHECK(*s.breaker == 1.0);
  CHECK(*s.outbox_pending == 7);
  CHECK(*s.oldest_pending_seconds == Approx(2.5));
  CHECK(s.actors.at("seat") == 42);
}

TEST_CASE("a part that did not answer leaves gaps, not zeros") {
  http_metrics m;
  auto before = reading_at(std::chrono::milliseconds(0), m);
  auto now = reading_at(std::chrono::milliseconds(1000), m);
  now.dispatcher = dispatcher_status(1, 0, 0, "open"); // no previous reading: no rate
  auto s = sample_between(before, now);
  CHECK_FALSE(s.waiting);
  CHECK_FALSE(s.admitted_per_second);
  CHECK_FALSE(s.deliveries_per_second);
  CHECK(*s.breaker == 2.0);
  CHECK(s.requests_per_second.empty());
}

TEST_CASE("the window keeps the newest samples and renders them as columns") {
  trend_window w{3};
  for (int i = 1; i <= 5; ++i) {
    trend_sample s;
    s.at_ms = i;
    s.holds_per_second = i;
    if (i == 5)
      s.p99_ms["POST /x"] = 1.23456;
    s.requests_per_second["POST /x"] = {double(i), 0, 0, 0};
    w.push(std::move(s));
  }
  CHECK(w.size() == 3);
  auto j = nlohmann::json::parse(w.render_json());
  CHECK(j["samples"] == 3);
  CHECK(j["capacity"] == 3);
  CHECK(j["t"] == nlohmann::json::array({3, 4, 5}));
  CHECK(j["holdsPerSecond"] == nlohmann::json::array({3.0, 4.0, 5.0}));
  CHECK(j["latencyP99Ms"]["POST /x"] == nlohmann::json::parse("[null, null, 1.235]"));
  CHECK(j["requestsPerSecond"]["POST /x"]["2xx"] == nlohmann::json::array({3.0, 4.0, 5.0}));
  CHECK_FALSE(j["requestsPerSecond"]["POST /x"].contains("4xx")); // never seen: not listed
  CHECK(j["waiting"] == nlohmann::json::parse("[null, null, null]"));
  auto last = nlohmann::json::parse(w.render_json(2));
  CHECK(last["t"] == nlohmann::json::array({4, 5}));
}
