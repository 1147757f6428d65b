// Live seat maps: event ids and formatting, and what a stream receives when it
// opens, resumes, and follows changes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/api/seat_streams.hpp"

using namespace boxoffice;
using namespace boxoffice::http;

namespace {

seat_board_ptr venue(size_t log_size = seat_board::default_log_size) {
  std::vector<seat_board::seat> seats{{10, 100, seat_status::available},
                                      {11, 100, seat_status::available},
                                      {12, 200, seat_status::sold}};
  return std::make_shared<seat_board>(9, 3, seats, log_size);
}

// Collects what a stream would send.
struct recording_sink : stream_sink {
  std::string text;
  int snapshots = 0;
  void send(std::shared_ptr<const std::string> bytes, bool snapshot) override {
    text += *bytes;
    snapshots += snapshot;
  }
};

struct opened {
  std::shared_ptr<stream_source> source; // keeps the stream open
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
};

opened open_stream(seat_streams& streams, const seat_board_ptr& board, std::string_view last_id) {
  opened o;
  auto r = streams.open(board, seat_map_format::full, last_id);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/event-stream");
  o.source = r.stream;
  o.source->attach(o.sink);
  return o;
}

std::shared_ptr<seat_streams> make_streams(size_t max_streams = 10) {
  auto maps = std::make_shared<seat_map_cache>(std::chrono::milliseconds(0), "b00t");
  return std::make_shared<seat_streams>(maps, nullptr, "b00t", max_streams);
}

} // namespace

TEST_CASE("event ids name this run and the version, and only ours parse") {
  CHECK(event_id("b00t", 0x100000005) == "b00t.100000005");
  CHECK(parse_event_id("b00t.100000005", "b00t") == uint64_t{0x100000005});
  CHECK_FALSE(parse_event_id("0ther.100000005", "b00t")); // another run
  CHECK_FALSE(parse_event_id("b00t.", "b00t"));
  CHECK_FALSE(parse_event_id("b00t.12x", "b00t"));
  CHECK_FALSE(parse_event_id("12", "b00t"));
  CHECK_FALSE(parse_event_id("", "b00t"));
}

TEST_CASE("a seat event carries the seat number, its status and the version as id") {
  auto board = venue();
  board->set_status(board->position(11), seat_status::held);
  std::vector<seat_board::change> changes;
  REQUIRE(board->changes_after(board->version() - 1, changes));
  std::string out;
  append_seat_event(out, *board, changes.at(0), "b00t");
  CHECK(out == "event: seat\nid: " + event_id("b00t", board->version()) +
                 "\ndata: {\"seatNumber\":11,\"status\":\"HELD\"}\n\n");
  CHECK(snapshot_head("b00t", 0x2a) == "event: snapshot\nid: b00t.2a\ndata: ");
}

TEST_CASE("a stream opens with a snapshot, then gets each change once") {
  auto board = venue();
  auto streams = make_streams();
  auto s = open_stream(*streams, board, "");
  CHECK(s.sink->snapshots == 1);
  CHECK(s.sink->text.rfind("event: snapshot\nid: " + event_id("b00t", board->version()) +
                             "\ndata: {\"scheduleId\":9,",
                           0) == 0);
  s.sink->text.clear();
  streams->tick();
  CHECK(s.sink->text.empty());
  board->set_status(board->position(10), seat_status::held);
  board->set_status(board->position(10), seat_status::sold);
  streams->tick();
  CHECK(s.sink->text == "event: seat\nid: " + event_id("b00t", board->version() - 1) +
                          "\ndata: {\"seatNumber\":10,\"status\":\"HELD\"}\n\n"
                          "event: seat\nid: " +
                          event_id("b00t", board->version()) +
                          "\ndata: {\"seatNumber\":10,\"status\":\"SOLD\"}\n\n");
  s.sink->text.clear();
  streams->tick();
  CHECK(s.sink->text.empty());
  streams->keep_alive();
  CHECK(s.sink->text == ": keep-alive\n\n");
}

TEST_CASE("a stream resumes after its Last-Event-ID, or gets a fresh snapshot") {
  auto board = venue(2);
  auto streams = make_streams();
  auto seen = event_id("b00t", board->version());
  board->set_status(board->position(11), seat_status::held);

  auto resumed = open_stream(*streams, board, seen);
  CHECK(resumed.sink->snapshots == 0);
  CHECK(resumed.sink->text == "event: seat\nid: " + event_id("b00t", board->version()) +
                                "\ndata: {\"seatNumber\":11,\"status\":\"HELD\"}\n\n");

  for (auto last_id :
       {std::string{"0ther.1"}, std::string{"garbage"}, event_id("b00t", board->version() + 7)}) {
    auto fresh = open_stream(*streams, board, last_id);
    CHECK(fresh.sink->snapshots == 1);
  }
  board->set_status(board->position(10), seat_status::held);
  board->set_status(board->position(10), seat_status::available); // the log of 2 lost `seen`+1
  auto too_old = open_stream(*streams, board, seen);
  CHECK(too_old.sink->snapshots == 1);
}

TEST_CASE("a subscriber behind the others is caught up, then shares their events") {
  auto board = venue();
  auto streams = make_streams();
  auto first = open_stream(*streams, board, "");
  auto seen = event_id("b00t", board->version());
  board->set_status(board->position(10), seat_status::held);
  streams->tick(); // the channel moves on to the new version
  first.sink->text.clear();
  auto late = opened{};
  auto r = streams->open(board, seat_map_format::full, seen);
  board->set_status(board->position(11), seat_status::held); // between answer and attach
  late.source = r.stream;
  late.source->attach(late.sink);
  CHECK(late.sink->text.find("\"seatNumber\":10") != std::string::npos);
  CHECK(late.sink->text.find("\"seatNumber\":11") != std::string::npos);
  late.sink->text.clear();
  streams->tick();
  CHECK(late.sink->text.empty()); // it had 11 already
  CHECK(first.sink->text.find("\"seatNumber\":11") != std::string::npos);
  board->set_status(board->position(11), seat_status::available);
  streams->tick();
  CHECK(late.sink->text ==
        first.sink->text.substr(first.sink->text.size() - late.sink->text.size()));
}

TEST_CASE("streams past the cap are refused, and a closed stream frees its place") {
  auto board = venue();
  auto streams = make_streams(1);
  auto r = streams->open(board, seat_map_format::full, "");
  CHECK(r.status == 200);
  CHECK(streams->open_streams() == 1);
  CHECK(streams->open(board, seat_map_format::full, "").status == 503);
  r.stream.reset();
  CHECK(streams->open_streams() == 0);
  CHECK(streams->open(board, seat_map_format::compact, "").status == 200);
}
