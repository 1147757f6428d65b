// Unit tests of the load driver's pure parts: histogram, URL and path
// helpers, seat-map scanner, seat partitioning, the SSE reader, fan tokens,
// --target parsing and the fan -> target assignment.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/fan_tokens.hpp"
#include "tools/loadgen/histogram.hpp"
#include "tools/loadgen/http_client.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/partition.hpp"
#include "tools/loadgen/seat_stream.hpp"
#include "tools/loadgen/seatmap.hpp"
#include "tools/loadgen/stats.hpp"

using namespace boxoffice::loadgen;
using H = LogLinearHistogram;

TEST_CASE("histogram buckets are contiguous and cover uint64") {
  CHECK(H::bucket_index(0) == 0);
  CHECK(H::bucket_index(127) == 127);
  CHECK(H::bucket_index(128) == 128);
  CHECK(H::bucket_index(129) == 128);
  CHECK(H::bucket_index(130) == 129);
  CHECK(H::bucket_index(~std::uint64_t{0}) == H::kBuckets - 1);
  for (std::size_t i = 0; i + 1 < H::kBuckets; ++i) {
    REQUIRE(H::bucket_lowest(i) <= H::bucket_highest(i));
    REQUIRE(H::bucket_highest(i) + 1 == H::bucket_lowest(i + 1));
    REQUIRE(H::bucket_index(H::bucket_lowest(i)) == i);
    REQUIRE(H::bucket_index(H::bucket_highest(i)) == i);
  }
  CHECK(H::bucket_highest(H::kBuckets - 1) == ~std::uint64_t{0});
}

TEST_CASE("histogram relative error stays below 1/64") {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100000; ++n) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const auto i = H::bucket_index(v);
    const auto hi = H::bucket_highest(i);
    REQUIRE(v >= H::bucket_lowest(i));
    REQUIRE(v <= hi);
    if (v >= H::kSub)
      REQUIRE(static_cast<double>(hi - v) / static_cast<double>(v) <= 1.0 / 64);
  }
}

TEST_CASE("histogram percentiles") {
  H h;
  CHECK(h.percentile(50) == 0);
  CHECK(h.empty());
  for (std::uint64_t v = 1; v <= 100; ++v)
    h.record(v); // exact range
  CHECK(h.count() == 100);
  CHECK(h.min() == 1);
  CHECK(h.max() == 100);
  CHECK(h.percentile(50) == 50);
  CHECK(h.percentile(99) == 99);
  CHECK(h.percentile(100) == 100);
  CHECK(h.percentile(0) == 1);
  CHECK(h.mean() == Approx(50.5));

  H big;
  for (std::uint64_t v = 1; v <= 1000000; ++v)
    big.record(v);
  CHECK(big.percentile(50) == Approx(500000).epsilon(1.0 / 64));
  CHECK(big.percentile(99) == Approx(990000).epsilon(1.0 / 64));
  CHECK(big.percentile(99.9) == Approx(999000).epsilon(1.0 / 64));
  CHECK(big.percentile(100) == 1000000);
}

TEST_CASE("histogram merge and weighted record") {
  H a, b;
  a.record(10, 3);
  b.record(1000000);
  b.record(5);
  a.merge(b);
  CHECK(a.count() == 5);
  CHECK(a.min() == 5);
  CHECK(a.max() == 1000000);
  CHECK(a.percentile(20) == 5);
  CHECK(a.percentile(80) == 10);
  CHECK(a.count_between(0, 10) == 4);
  a.clear();
  CHECK(a.count() == 0);
  CHECK(a.max() == 0);
}

TEST_CASE("parse_url") {
  auto u = parse_url("http://127.0.0.1:8080");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "8080");
  CHECK(u->path.empty());
  u = parse_url("http://sim.local/base/");
  REQUIRE(u);
  CHECK(u->port == "80");
  CHECK(u->path == "/base");
  u = parse_url("http://[::1]:9000/x");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == "9000");
  CHECK_FALSE(parse_url("https://example.com"));
  CHECK_FALSE(parse_url("http://host:port"));
  CHECK_FALSE(parse_url("http://"));
}

TEST_CASE("normalise_path") {
  CHECK(normalise_path("/concerts/7/schedules/42/seats") == "/concerts/{id}/schedules/{id}/seats");
  CHECK(normalise_path("/reservations/123?userId=5") == "/reservations/{id}");
  CHECK(normalise_path("/points/99/history") == "/points/{id}/history");
  CHECK(normalise_path("/queue/status") == "/queue/status");
  CHECK(normalise_path("/events/0b7e9c4e-5d7f-4a57-9a6e-1f2d3c4b5a69") == "/events/{id}");
  CHECK(normalise_path("/concerts") == "/concerts");
  // The compact seat map counts as the same endpoint as the full one.
  CHECK(normalise_path("/concerts/7/schedules/42/seats?format=compact") ==
        "/concerts/{id}/schedules/{id}/seats");
  CHECK(normalise_path("/concerts/7/schedules/42/seats?format=full") ==
        normalise_path("/concerts/7/schedules/42/seats"));
}

TEST_CASE("seat map scanner") {
  std::mt19937_64 rng(1);
  SeatScan scan;
  const std::string body = R"({"seats":[{"seatNumber":1,"price":100,"status":"SOLD"},)"
                           R"( { "status" : "AVAILABLE", "seatNumber" : 2, "price": 100 },)"
                           R"({"seatNumber":3,"price":100,"status":"HELD"},)"
                           R"({"seatNumber":4,"price":100,"status":"AVAILABLE"}]})";
  REQUIRE(scan_seat_map(body, 10, rng, scan));
  CHECK(scan.seats == 4);
  CHECK(scan.available == 2);
  REQUIRE(scan.sample.size() == 2);
  CHECK(
    ((scan.sample[0] == 2 && scan.sample[1] == 4) || (scan.sample[0] == 4 && scan.sample[1] == 2)));

  REQUIRE(scan_seat_map(R"({"seats":[]})", 10, rng, scan));
  CHECK(scan.seats == 0);
  CHECK(scan.sample.empty());
  CHECK_FALSE(scan_seat_map("not json", 10, rng, scan));
  CHECK_FALSE(scan_seat_map(R"({"error":{"code":"X"}})", 10, rng, scan));
}

TEST_CASE("seat map sample is bounded and uniform-ish") {
  std::string body = R"({"seats":[)";
  for (int i = 1; i <= 1000; ++i) {
    if (i > 1)
      body += ',';
    body += R"({"seatNumber":)" + std::to_string(i) + R"(,"price":5,"status":")" +
            (i % 2 ? "AVAILABLE" : "SOLD") + "\"}";
  }
  body += "]}";
  std::mt19937_64 rng(3);
  SeatScan scan;
  REQUIRE(scan_seat_map(body, 16, rng, scan));
  CHECK(scan.seats == 1000);
  CHECK(scan.available == 500);
  CHECK(scan.sample.size() == 16);
  for (int s : scan.sample)
    CHECK(s % 2 == 1);
}

TEST_CASE("compact seat map: runs with gaps, only AVAILABLE seats sampled") {
  std::mt19937_64 rng(1);
  SeatScan scan;
  // Seats 1-3, 7-8 and 20: six seats; status A S H A A H.
  const std::string body =
    R"({"scheduleId":1,"version":"5f3a9c01.100000007",)"
    R"( "seats" : [ [1,3,150000], [7, 8, 100000],[20,20,0] ] , "status":"ASHAAH"})";
  REQUIRE(scan_compact_seat_map(body, 10, rng, scan));
  CHECK(scan.seats == 6);
  CHECK(scan.available == 3);
  std::vector<int> got = scan.sample;
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<int>{1, 7, 8});

  // Key order does not matter, nor do fields it does not know.
  REQUIRE(scan_compact_seat_map(
    R"({"status":"HA","extra":{"a":[1,{"b":"x\"]"}],"c":null},"seats":[[5,6,1]],"n":-1.5e3})", 10,
    rng, scan));
  CHECK(scan.seats == 2);
  CHECK(scan.available == 1);
  CHECK(scan.sample == std::vector<int>{6});

  // An empty venue: nothing to sample.
  REQUIRE(scan_compact_seat_map(R"({"seats":[],"status":""})", 10, rng, scan));
  CHECK(scan.seats == 0);
  CHECK(scan.available == 0);
  CHECK(scan.sample.empty());

  // All taken: read, but no candidates.
  REQUIRE(scan_compact_seat_map(R"({"seats":[[1,4,10]],"status":"SHSH"})", 10, rng, scan));
  CHECK(scan.seats == 4);
  CHECK(scan.available == 0);
  CHECK(scan.sample.empty());

  // scan_seat_map recognises the compact shape rather than misreading it.
  REQUIRE(scan_seat_map(body, 10, rng, scan));
  CHECK(scan.seats == 6);
  CHECK(scan.available == 3);
}

TEST_CASE("compact seat map sample is bounded and uniform over AVAILABLE seats") {
  // 20,000 seats in 200 runs of 100 with one-seat gaps; every third seat available.
  std::string runs;
  std::string status;
  std::set<int> available;
  int seat = 1;
  for (int r = 0; r < 200; ++r) {
    if (r > 0)
      runs += ',';
    runs += '[' + std::to_string(seat) + ',' + std::to_string(seat + 99) + ",100]";
    for (int k = 0; k < 100; ++k, ++seat) {
      const bool a = status.size() % 3 == 0;
      status += a ? 'A' : (k % 2 ? 'H' : 'S');
      if (a)
        available.insert(seat);
    }
    ++seat; // a gap
  }
  const std::string body =
    R"({"scheduleId":1,"seats":[)" + runs + R"(],"status":")" + status + "\"}";
  std::mt19937_64 rng(3);
  SeatScan scan;
  REQUIRE(scan_compact_seat_map(body, 32, rng, scan));
  CHECK(scan.seats == 20000);
  CHECK(scan.available == available.size());
  REQUIRE(scan.sample.size() == 32);
  for (int s : scan.sample)
    CHECK(available.count(s) == 1);
  CHECK(std::set<int>(scan.sample.begin(), scan.sample.end()).size() == 32);
  // The sample reaches past the first 32 available seats (a reservoir, not a prefix).
  CHECK(*std::max_element(scan.sample.begin(), scan.sample.end()) > 2000);

  // max_sample 0: counts only.
  REQUIRE(scan_compact_seat_map(body, 0, rng, scan));
  CHECK(scan.available == available.size());
  CHECK(scan.sample.empty());
}

TEST_CASE("compact seat map: malformed input is refused") {
  std::mt19937_64 rng(1);
  const std::vector<std::string> malformed = {
    // status length differs from the seats in the runs
    R"({"seats":[[1,10,5]],"status":"AAAAAAAAA"})",
    R"({"seats":[[1,10,5]],"status":"AAAAAAAAAAA"})",
    R"({"seats":[[1,2,5],[4,5,5]],"status":"AAA"})",
    R"({"seats":[],"status":"A"})",
    // unknown status letter, lower case, an escape
    R"({"seats":[[1,3,5]],"status":"AXA"})",
    R"({"seats":[[1,3,5]],"status":"aAA"})",
    R"({"seats":[[1,8,5]],"status":"A\u0041A"})",
    // runs: last < first, out of order, overlapping, seat 0, negative, too big
    R"({"seats":[[5,4,5]],"status":"AA"})",
    R"({"seats":[[10,12,5],[1,3,5]],"status":"AAAAAA"})",
    R"({"seats":[[1,3,5],[3,4,5]],"status":"AAAAA"})",
    R"({"seats":[[0,1,5]],"status":"AA"})",
    R"({"seats":[[-2,-1,5]],"status":"AA"})",
    R"({"seats":[[1,2,-5]],"status":"AA"})",
    R"({"seats":[[2147483647,2147483648,5]],"status":"AA"})",
    R"({"seats":[[1,99999999999999999999,5]],"status":"A"})",
    // runs not of three integers
    R"({"seats":[[1,2]],"status":"AA"})",
    R"({"seats":[[1,2,5,6]],"status":"AA"})",
    R"({"seats":[[1,2.0,5]],"status":"AA"})",
    R"({"seats":[[1,"2",5]],"status":"AA"})",
    R"({"seats":[{"seatNumber":1}],"status":"A"})",
    R"({"seats":[[1,2,5],],"status":"AA"})",
    R"({"seats":[[1,2,5]"status":"AA"})",
    // fields missing, repeated or of the wrong type
    R"({"seats":[[1,2,5]]})",
    R"({"status":"AA"})",
    R"({"seats":[[1,2,5]],"status":"AA","status":"AA"})",
    R"({"seats":[[1,2,5]],"seats":[[1,2,5]],"status":"AA"})",
    R"({"seats":[[1,2,5]],"status":["AA"]})",
    R"({"seats":"1-2","status":"AA"})",
    // not one JSON object
    R"({"seats":[[1,2,5]],"status":"AA"} x)",
    R"({"seats":[[1,2,5]],"status":"AA")",
    R"({"seats":[[1,2,5]],"status":"AA)",
    R"([{"seats":[[1,2,5]],"status":"AA"}])",
    R"({"error":{"code":"NOT_FOUND","message":"schedule not found"}})",
    // other fields: nested too deep, not JSON values
    R"({"seats":[[1,2,5]],"status":"AA","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})",
    std::string("{\"seats\":[[1,2,5]],\"status\":\"AA\",\"x\":tr") + '\0' + "ue}",
    R"({"seats":[[1,2,5]],"status":"AA","x":tru})",
    R"({"seats":[[1,2,5]],"status":"AA","x":1.})",
    R"({"seats":[[1,2,5]],"status":"AA","x":--1})",
    "",
    "not json",
  };
  for (const auto& body : malformed) {
    SeatScan scan;
    scan.seats = 99;
    INFO(body);
    CHECK_FALSE(scan_compact_seat_map(body, 10, rng, scan));
    CHECK(scan.seats == 0);
    CHECK(scan.available == 0);
    CHECK(scan.sample.empty());
  }
  // The full form is not a compact map.
  SeatScan scan;
  CHECK_FALSE(scan_compact_seat_map(
    R"({"seats":[{"seatNumber":1,"price":100,"status":"AVAILABLE"}]})", 10, rng, scan));
}

TEST_CASE("partition_seats deals seats round-robin, at most per_client each") {
  CHECK(partition_seats(10, 3, 0, 4) == std::vector<int>{1, 4, 7, 10});
  CHECK(partition_seats(10, 3, 1, 4) == std::vector<int>{2, 5, 8});
  CHECK(partition_seats(10, 3, 2, 4) == std::vector<int>{3, 6, 9});
  CHECK(partition_seats(10, 3, 0, 2) == std::vector<int>{1, 4});
  CHECK(partition_seats(20000, 5000, 4999, 4) == std::vector<int>{5000, 10000, 15000, 20000});
  // More clients than seats: the ones past the venue get nothing.
  CHECK(partition_seats(3, 5, 2, 1) == std::vector<int>{3});
  CHECK(partition_seats(3, 5, 3, 1).empty());
  // Nonsense in, nothing out.
  CHECK(partition_seats(0, 5, 0, 1).empty());
  CHECK(partition_seats(10, 0, 0, 1).empty());
  CHECK(partition_seats(10, 3, 3, 1).empty());
  CHECK(partition_seats(10, 3, -1, 1).empty());
  CHECK(partition_seats(10, 3, 0, 0).empty());
}

TEST_CASE("partition_seats covers 1..min(seats, clients * per_client) exactly once") {
  for (const auto& [seats, clients, per] :
       std::vector<std::tuple<std::int64_t, std::int64_t, int>>{{20000, 5000, 4},
                                                                {20000, 3000, 4},
                                                                {20000, 6000, 4},
                                                                {50, 7, 3},
                                                                {1, 1, 1},
                                                                {97, 10, 20}}) {
    std::set<int> seen;
    std::size_t total = 0;
    for (std::int64_t i = 0; i < clients; ++i) {
      const auto mine = partition_seats(seats, clients, i, per);
      REQUIRE(mine.size() <= static_cast<std::size_t>(per));
      for (int s : mine) {
        REQUIRE(s >= 1);
        REQUIRE(s <= seats);
        REQUIRE(seen.insert(s).second); // no seat dealt twice
      }
      total += mine.size();
    }
    const auto expect = partitioned_seats(seats, clients, per);
    CHECK(static_cast<std::int64_t>(total) == expect);
    CHECK(expect == std::min<std::int64_t>(seats, clients * per));
    if (!seen.empty()) {
      CHECK(*seen.begin() == 1);
      CHECK(*seen.rbegin() == expect);
    }
  }
  CHECK(partitioned_seats(0, 1, 1) == 0);
  CHECK(partitioned_seats(10, 0, 1) == 0);
  CHECK(partitioned_seats(10, 1, 0) == 0);
}

TEST_CASE("SSE reader: the head, then events split anywhere across reads") {
  std::vector<std::pair<std::string, std::string>> events;
  SseReader reader{[&](std::string_view type, std::string_view data) {
    events.emplace_back(std::string(type), std::string(data));
  }};
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                           "Connection: close\r\n\r\n"
                           "event: snapshot\nid: a.1\ndata: {\"seats\":\"AAH\"}\n\n"
                           ": keep-alive\n\n"
                           "event: seat\r\nid: a.2\r\ndata: {\"seatNumber\":3,\r\n"
                           "data: \"status\":\"HELD\"}\r\n\r\n"
                           "data: plain\n\n";
  // One byte at a time: no split point may lose or garble an event.
  for (char c : wire)
    REQUIRE(reader.feed(std::string_view(&c, 1)));
  CHECK(reader.status() == 200);
  REQUIRE(events.size() == 3);
  CHECK(events[0] == std::make_pair(std::string("snapshot"), std::string("{\"seats\":\"AAH\"}")));
  CHECK(events[1] == std::make_pair(std::string("seat"),
                                    std::string("{\"seatNumber\":3,\n\"status\":\"HELD\"}")));
  CHECK(events[2] == std::make_pair(std::string("message"), std::string("plain")));
}

TEST_CASE("SSE reader: an answer other than 200 stops it before any event") {
  int events = 0;
  SseReader reader{[&](std::string_view, std::string_view) { ++events; }};
  CHECK(reader.feed("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"));
  CHECK_FALSE(reader.feed("\r\ndata: {\"error\":\"x\"}\n\n"));
  CHECK(reader.status() == 503);
  CHECK(events == 0);
}

TEST_CASE("live latency: the progress line's p99 agrees with the run's histogram") {
  LiveLatency live;
  H h;
  CHECK(live.percentile(99) == 0);
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(8.0, 1.0); // about 3 ms, long tail
  for (int i = 0; i < 20000; ++i) {
    const auto us = static_cast<std::uint64_t>(latency(rng));
    live.record(us);
    h.record(us);
  }
  for (double p : {50.0, 90.0, 99.0}) {
    // Same buckets; the histogram also clamps to the largest value seen.
    const auto exact = h.percentile(p);
    CHECK(live.percentile(p) >= exact);
    CHECK(static_cast<double>(live.percentile(p)) <= static_cast<double>(exact) * 1.02 + 1);
  }
}

namespace {

std::string base64url_decode(const std::string& in) {
  static const std::string alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0;
  int have = 0;
  for (char ch : in) {
    const auto v = alphabet.find(ch);
    REQUIRE(v != std::string::npos);
    bits = (bits << 6) | static_cast<unsigned>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      out.push_back(static_cast<char>((bits >> have) & 0xff));
    }
  }
  return out;
}

} // namespace

TEST_CASE("fan tokens: an HS256 bearer token whose sub is the fan's user id") {
  const std::string path = "loadgen_tests_jwt_secret.txt";
  std::ofstream(path) << "0123456789abcdefghijklmnopqrstuvwxyzABCD\n";
  const auto key = boxoffice::http::read_hs256_secret(path);
  std::remove(path.c_str());
  const FanTokens tokens(key, "boxoffice-test", "boxoffice", 7200);

  const auto auth = tokens.authorization(1000042);
  REQUIRE(auth.rfind("Bearer ", 0) == 0);
  const auto token = auth.substr(7);
  const auto dot1 = token.find('.');
  const auto dot2 = token.find('.', dot1 + 1);
  REQUIRE(dot2 != std::string::npos);
  CHECK(token.find('.', dot2 + 1) == std::string::npos);

  const auto header = nlohmann::json::parse(base64url_decode(token.substr(0, dot1)));
  CHECK(header.at("alg") == "HS256");
  const auto claims =
    nlohmann::json::parse(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1)));
  CHECK(claims.at("sub") == "1000042");
  CHECK(claims.at("iss") == "boxoffice-test");
  CHECK(claims.at("aud") == "boxoffice");
  CHECK(claims.at("exp").get<std::int64_t>() - claims.at("iat").get<std::int64_t>() == 7200);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  CHECK(std::abs(claims.at("iat").get<std::int64_t>() - now) < 60);

  // The server's own verifier accepts it for that user.
  boxoffice::http::jwt_rules rules;
  rules.key = key;
  rules.issuer = "boxoffice-test";
  rules.audience = "boxoffice";
  const auto verdict = boxoffice::http::jwt_verifier(rules).verify(token);
  CHECK(verdict.ok());
  CHECK(verdict.subject == 1000042);
}

namespace {

// parse_options on {"loadgen", args...}.
std::optional<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "loadgen");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_options(static_cast<int>(args.size()), argv.data());
}

} // namespace

TEST_CASE("--target: one by default, repeatable for several servers") {
  auto o = parse({});
  REQUIRE(o);
  CHECK(o->targets == std::vector<std::string>{"http://127.0.0.1:8080"});
  REQUIRE(o->target_urls.size() == 1);
  CHECK(o->target == "http://127.0.0.1:8080");
  CHECK(o->target_url.port == "8080");

  o = parse({"--target", "http://10.0.0.5:9000/base"});
  REQUIRE(o);
  CHECK(o->targets == std::vector<std::string>{"http://10.0.0.5:9000/base"});
  CHECK(o->target == "http://10.0.0.5:9000/base");
  CHECK(o->target_url.host == "10.0.0.5");
  CHECK(o->target_url.path == "/base");

  o = parse({"--target", "http://127.0.0.1:8080", "--users", "10", "--target=http://127.0.0.1:8081",
             "--target", "http://127.0.0.1:8082"});
  REQUIRE(o);
  CHECK(o->targets == std::vector<std::string>{"http://127.0.0.1:8080", "http://127.0.0.1:8081",
                                               "http://127.0.0.1:8082"});
  REQUIRE(o->target_urls.size() == 3);
  CHECK(o->target_urls[0].port == "8080");
  CHECK(o->target_urls[1].port == "8081");
  CHECK(o->target_urls[2].port == "8082");
  // The first one is the discovery and check target.
  CHECK(o->target == "http://127.0.0.1:8080");
  CHECK(o->target_url.port == "8080");
  CHECK(o->users == 10);
  const auto j = options_json(*o);
  CHECK(j.at("target") == "http://127.0.0.1:8080");
  CHECK(j.at("targets").size() == 3);
  CHECK(j.at("targets")[2] == "http://127.0.0.1:8082");

  CHECK_THROWS_AS(parse({"--target", "http://127.0.0.1:8080", "--target", "https://x"}),
                  UsageError);
  // One URL an occurrence: a comma-separated list is refused (with a hint).
  CHECK_THROWS_AS(parse({"--target", "http://127.0.0.1:8080,http://127.0.0.1:8081"}), UsageError);
}

TEST_CASE("fan i uses target i mod N") {
  CHECK(target_index(0, 1) == 0);
  CHECK(target_index(12345, 1) == 0);
  CHECK(target_index(7, 0) == 0); // no targets: the first (default) one
  CHECK(target_index(-1, 3) == 0);
  std::vector<std::size_t> per(3, 0);
  for (std::int64_t fan = 0; fan < 3000; ++fan) {
    const auto t = target_index(fan, 3);
    REQUIRE(t == static_cast<std::size_t>(fan % 3));
    ++per[t];
  }
  CHECK(per == std::vector<std::size_t>{1000, 1000, 1000});
  CHECK(target_index(4, 3) == 1);
  CHECK(target_index(5, 2) == 1);
  CHECK(target_index(6, 2) == 0);
}

TEST_CASE("per-target statistics merge across io threads") {
  Stats a, b;
  a.target_fan(0);
  a.target_answered(0, 200);
  a.target_answered(0, 503);
  b.target_fan(1);
  b.target_answered(1, 0);
  b.target_answered(1, 500);
  b.target_answered(1, 429);
  a.merge(b);
  REQUIRE(a.targets.size() == 2);
  CHECK(a.targets[0].fans == 1);
  CHECK(a.targets[0].requests == 2);
  CHECK(a.targets[0].shed == 1);
  CHECK(a.targets[0].errors == 0);
  CHECK(a.targets[1].fans == 1);
  CHECK(a.targets[1].requests == 3);
  CHECK(a.targets[1].shed == 1);
  CHECK(a.targets[1].errors == 2);
}
