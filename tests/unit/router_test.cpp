#include <catch2/catch.hpp>

#include "http/router.hpp"

using namespace boxoffice::http;

TEST_CASE("routes match with their path ids") {
  auto m = match_route("GET", "/api/v1/concerts/12/schedules/34/seats");
  REQUIRE(m.outcome == route_match::found);
  CHECK(m.id == route_id::seats);
  CHECK(m.ids[0] == 12);
  CHECK(m.ids[1] == 34);
  CHECK(match_route("DELETE", "/api/v1/reservations/5").id == route_id::reservation);
  CHECK(match_route("GET", "/api/v1/points/7/history").id == route_id::points_history);
  auto stream = match_route("GET", "/api/v1/concerts/3/schedules/9/seats/stream");
  REQUIRE(stream.outcome == route_match::found);
  CHECK(stream.id == route_id::seat_stream);
  CHECK(stream.ids[1] == 9);
  CHECK(match_route("POST", "/api/v1/concerts/3/schedules/9/seats/stream").outcome ==
        route_match::bad_method);
}

TEST_CASE("unknown paths and wrong methods are told apart") {
  CHECK(match_route("GET", "/api/v1/nope").outcome == route_match::not_found);
  auto m = match_route("PUT", "/api/v1/reservations/5");
  CHECK(m.outcome == route_match::bad_method);
  CHECK(m.allow == "GET, DELETE");
}

TEST_CASE("malformed ids name the id") {
  for (auto bad : {"x", "0", "-3", "1e3", "9999999999999999999"}) {
    auto m = match_route("GET", std::string{"/api/v1/concerts/"} + bad + "/schedules");
    CHECK(m.outcome == route_match::bad_id);
    CHECK(m.bad_id_name == "concertId");
  }
}

TEST_CASE("paths with more segments than any route match nothing") {
  CHECK(match_route("GET", "/a/b/c/d/e/f/g/h/i/j").outcome == route_match::not_found);
  CHECK(match_route("GET", "//api//v1///concerts/").id == route_id::concerts);
}

TEST_CASE("query parameters") {
  CHECK(query_param("userId=5&x=1", "userId") == "5");
  CHECK(query_param("x=1", "userId").empty());
  int64_t id = 0;
  CHECK(parse_id("999999999999999999", id));
  CHECK_FALSE(parse_id("1000000000000000000", id));
}
