// What the listener's thread answers by itself, and what it leaves to the api
// actor: only what the published tokens and boards decide.
#include <catch2/catch.hpp>

#include "http/api/direct_reads.hpp"

using namespace boxoffice;
using namespace boxoffice::http;

namespace {

struct direct_fixture {
  std::shared_ptr<schedule_directory> schedules = std::make_shared<schedule_directory>();
  std::shared_ptr<active_tokens> passes = std::make_shared<active_tokens>();
  seat_board_ptr board;
  api_services services;
  std::optional<api_response> answered;

  direct_fixture() {
    std::vector<seat_board::seat> seats{{1, 100, seat_status::available},
                                        {2, 100, seat_status::sold}};
    board = std::make_shared<seat_board>(8, 3, seats);
    schedules->publish(8, {schedule_actor{}, board});
    passes->add("tok", 42);
    services.schedules = schedules;
    services.passes = passes;
    services.seat_maps = std::make_shared<seat_map_cache>(std::chrono::milliseconds(0), "b00t");
    services.streams = std::make_shared<seat_streams>(services.seat_maps, schedules, "b00t", 10);
  }

  bool ask(std::string method, std::string target, std::string body = "",
           std::string token = "tok") {
    auto ex = std::make_shared<api_exchange>();
    ex->request.method = std::move(method);
    auto q = target.find('?');
    ex->request.path = target.substr(0, q);
    if (q != std::string::npos)
      ex->request.query = target.substr(q + 1);
    ex->request.body = std::move(body);
    ex->request.token = std::move(token);
    ex->respond = [this](api_response r) { answered = std::move(r); };
    return answer_directly(services, ex);
  }
};

} // namespace

TEST_CASE_METHOD(direct_fixture, "seat maps of loaded schedules are answered for active tokens") {
  CHECK(ask("GET", "/api/v1/concerts/3/schedules/8/seats"));
  REQUIRE(answered);
  CHECK(answered->status == 200);
  CHECK(answered->shared_body);
  answered.reset();
  CHECK_FALSE(ask("GET", "/api/v1/concerts/3/schedules/8/seats", "", "unknown"));
  CHECK_FALSE(ask("GET", "/api/v1/concerts/2/schedules/8/seats")); // another concert's path
  CHECK_FALSE(ask("GET", "/api/v1/concerts/3/schedules/9/seats")); // not loaded
  CHECK_FALSE(ask("GET", "/api/v1/concerts/3/schedules/8/seats", "", ""));
  CHECK_FALSE(answered); // all of them left to the api actor
}

TEST_CASE_METHOD(direct_fixture, "a hold of a taken seat is refused here and counted") {
  CHECK(ask("POST", "/api/v1/reservations", R"({"userId":42,"scheduleId":8,"seatNumber":2})"));
  REQUIRE(answered);
  CHECK(answered->status == 409);
  CHECK(answered->body.find("SEAT_UNAVAILABLE") != std::string::npos);
  CHECK(board->refusals() == 1);
}

TEST_CASE_METHOD(direct_fixture, "holds this cannot decide go on to the api actor") {
  auto hold = [&](const std::string& body, std::string token = "tok") {
    return ask("POST", "/api/v1/reservations", body, std::move(token));
  };
  CHECK_FALSE(hold(R"({"userId":42,"scheduleId":8,"seatNumber":1})"));        // free seat
  CHECK_FALSE(hold(R"({"userId":43,"scheduleId":8,"seatNumber":2})"));        // not its token
  CHECK_FALSE(hold(R"({"userId":42,"scheduleId":8,"seatNumber":3})"));        // no such seat
  CHECK_FALSE(hold(R"({"userId":42,"scheduleId":8,"seatNumber":2.5})"));      // malformed
  CHECK_FALSE(hold(R"({"userId":42,"scheduleId":"8","seatNumber":2})"));      // malformed
  CHECK_FALSE(hold(R"([1,2])"));                                              // not an object
  CHECK_FALSE(hold(R"({"userId":42,"scheduleId":8,"seatNumber":2})", "bad")); // unknown token
  CHECK_FALSE(answered);
  CHECK(board->refusals() == 0);
}

TEST_CASE_METHOD(direct_fixture, "live seat maps open here, with the token in a header or query") {
  auto path = std::string{"/api/v1/concerts/3/schedules/8/seats/stream"};
  CHECK(ask("GET", path));
  REQUIRE(answered);
  CHECK(answered->status == 200);
  CHECK(answered->content_type == "text/event-stream");
  CHECK(answered->stream);
  answered.reset();
  CHECK(ask("GET", path + "?format=compact&token=tok", "", ""));
  REQUIRE(answered);
  CHECK(answered->stream);
  answered.reset();
  CHECK_FALSE(ask("GET", path, "", ""));                                  // no token
  CHECK_FALSE(ask("GET", path + "?token=unknown", "", ""));               // not active
  CHECK_FALSE(ask("GET", path + "?format=xml"));                          // a 400 for the api actor
  CHECK_FALSE(ask("GET", "/api/v1/concerts/3/schedules/9/seats/stream")); // not loaded
  CHECK_FALSE(answered);
}
