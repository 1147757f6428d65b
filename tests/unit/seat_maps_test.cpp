// Seat maps as served: both formats, ETags and conditional reads, and the
// cache that renders once per version and at a bounded rate under churn.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/api/seat_maps.hpp"

using namespace boxoffice;
using namespace boxoffice::http;

namespace {

seat_board small_venue() {
  // 1..3 at 100, 4 at 200, then a gap, 10 at 200
  std::vector<seat_board::seat> seats{{1, 100, seat_status::available},
                                      {2, 100, seat_status::held},
                                      {3, 100, seat_status::sold},
                                      {4, 200, seat_status::available},
                                      {10, 200, seat_status::available}};
  return seat_board{5, 1, seats};
}

} // namespace

TEST_CASE("the full seat map lists every seat with its price and status") {
  auto board = small_venue();
  auto text = render_seat_map(board, seat_map_format::full, "b00t");
  auto j = nlohmann::json::parse(*text.body);
  CHECK(j["scheduleId"] == 5);
  REQUIRE(j["seats"].size() == 5);
  CHECK(j["seats"][1] == nlohmann::json{{"seatNumber", 2}, {"price", 100}, {"status", "HELD"}});
  CHECK(j["seats"][4]["seatNumber"] == 10);
  CHECK(text.etag.front() == '"');
  CHECK(text.etag.back() == '"');
}

TEST_CASE("the compact seat map has price runs and one letter a seat") {
  auto board = small_venue();
  auto text = render_seat_map(board, seat_map_format::compact, "b00t");
  auto j = nlohmann::json::parse(*text.body);
  CHECK(j["seats"] == nlohmann::json::parse("[[1,3,100],[4,4,200],[10,10,200]]"));
  CHECK(j["status"] == "AHSAA");
  CHECK(text.etag != render_seat_map(board, seat_map_format::full, "b00t").etag);
  CHECK("\"" + j["version"].get<std::string>() + ".c\"" == text.etag);
}

TEST_CASE("formats other than full and compact are refused") {
  CHECK(seat_map_format_of("") == seat_map_format::full);
  CHECK(seat_map_format_of("format=full") == seat_map_format::full);
  CHECK(seat_map_format_of("x=1&format=compact") == seat_map_format::compact);
  CHECK_FALSE(seat_map_format_of("format=xml"));
}

TEST_CASE("If-None-Match with the current ETag gets 304 and no body") {
  auto board = small_venue();
  auto text = render_seat_map(board, seat_map_format::full, "b00t");
  CHECK(seat_map_response(text, "").status == 200);
  CHECK(seat_map_response(text, "\"other\"").status == 200);
  auto r = seat_map_response(text, "\"other\", W/" + text.etag);
  CHECK(r.status == 304);
  CHECK_FALSE(r.shared_body);
  CHECK(seat_map_response(text, "*").status == 304);
  board.set_status(0, seat_status::held);
  auto next = render_seat_map(board, seat_map_format::full, "b00t");
  CHECK(seat_map_response(next, text.etag).status == 200); // the seats moved on
  // Another run of the server (another boot tag) never matches.
  CHECK(render_seat_map(board, seat_map_format::full, "0ther").etag != next.etag);
}

TEST_CASE("the cache renders once per version, and under churn at most once per interval") {
  auto board = small_venue();
  seat_map_cache cache{std::chrono::milliseconds(200), "b00t"};
  auto first = cache.get(board, seat_map_format::full);
  CHECK(cache.get(board, seat_map_format::full) == first); // shared, not rendered again
  CHECK(cache.renderings() == 1);
  board.set_status(0, seat_status::held);
  // Within the interval the last rendering is served as it is...
  CHECK(cache.get(board, seat_map_format::full) == first);
  CHECK(cache.renderings() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(220));
  // ...and after it the seats are rendered again.
  auto second = cache.get(board, seat_map_format::full);
  CHECK(second->version == board.version());
  CHECK(cache.renderings() == 2);
}

TEST_CASE("a new board of the same schedule is never answered from the old one's rendering") {
  seat_map_cache cache{std::chrono::seconds(60), "b00t"};
  auto old_board = small_venue();
  auto old_text = cache.get(old_board, seat_map_format::full);
  auto new_board = small_venue(); // e.g. the schedule actor was started again
  auto new_text = cache.get(new_board, seat_map_format::full);
  CHECK(new_text != old_text);
  CHECK(new_text->etag != old_text->etag);
}
