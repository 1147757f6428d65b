// The messages that will cross nodes (docs/DISTRIBUTION.md: wallets, schedules,
// reservations, the waiting room) survive CAF's binary serialisation, which is
// what the middleman sends: every field, the atoms, and booking errors with
// their text. A field left out of an inspect overload fails here.
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include "actor_fixture.hpp"
#include "messages/types.hpp"

using namespace boxoffice;

namespace {

caf::message over_the_wire(caf::actor_system& sys, caf::message msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto written = sink(msg);
  REQUIRE_FALSE(written);
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  auto read = source(out);
  REQUIRE_FALSE(read);
  return out;
}

// The value as the receiving node gets it. Fields are compared one by one
// below: a field missing from an inspect overload would be missing from its
// text rendering too, so comparing renderings could not catch it.
template <class T> T round_trip(caf::actor_system& sys, const T& value) {
  auto back = over_the_wire(sys, caf::make_message(value));
  REQUIRE(back.template match_element<T>(0));
  return back.template get_as<T>(0);
}

} // namespace

TEST_CASE("booking requests and answers cross the wire intact", "[wire]") {
  testing::actor_fixture fx;
  auto& sys = fx.sys;
  auto hold = round_trip(sys, hold_request{42, 7, 12});
  CHECK((hold.user_id == 42 && hold.schedule_id == 7 && hold.seat_number == 12));
  reservation_view r;
  r.id = 9;
  r.user_id = 42;
  r.schedule_id = 7;
  r.seat_number = 12;
  r.price = 150000;
  r.status = reservation_status::confirmed;
  r.expires_at_ms = 1'764'000'000'123;
  auto r2 = round_trip(sys, r);
  CHECK((r2.id == 9 && r2.user_id == 42 && r2.schedule_id == 7 && r2.seat_number == 12));
  CHECK((r2.price == 150000 && r2.status == reservation_status::confirmed));
  CHECK(r2.expires_at_ms == 1'764'000'000'123);
  auto p = round_trip(sys, payment_request{42, 9, "order-42-1", "a1b2c3"});
  CHECK((p.user_id == 42 && p.reservation_id == 9));
  CHECK((p.idempotency_key == "order-42-1" && p.token == "a1b2c3"));
  auto a = round_trip(sys, api_answer{201, R"({"paymentId":1})"});
  CHECK((a.status == 201 && a.body == R"({"paymentId":1})"));
  queue_ticket t;
  t.token = "80f4";
  t.user_id = 42;
  t.status = token_status::active;
  t.position = 3;
  t.eta_seconds = 1;
  t.poll_after_ms = 250;
  t.active_until_ms = 99;
  auto t2 = round_trip(sys, t);
  CHECK((t2.token == "80f4" && t2.user_id == 42 && t2.status == token_status::active));
  CHECK((t2.position == 3 && t2.eta_seconds == 1 && t2.poll_after_ms == 250));
  CHECK(t2.active_until_ms == 99);
  // A whole request as an actor sends it: atom and arguments.
  auto debit = over_the_wire(sys, caf::make_message(debit_atom_v, int64_t{77}, int64_t{100000}));
  REQUIRE((debit.match_elements<debit_atom, int64_t, int64_t>()));
  CHECK(debit.get_as<int64_t>(2) == 100000);
}

TEST_CASE("a forwarded HTTP request and its answer cross the wire intact", "[wire]") {
  testing::actor_fixture fx;
  auto req =
    round_trip(fx.sys, forwarded_request{"POST", "/api/v1/payments", "a=1", R"({"userId":7})",
                                         "tok", "key-1", "Bearer x", "\"v1\"", "10.0.0.9", 1});
  CHECK((req.method == "POST" && req.path == "/api/v1/payments" && req.query == "a=1"));
  CHECK((req.body == R"({"userId":7})" && req.token == "tok" && req.idempotency_key == "key-1"));
  CHECK((req.authorization == "Bearer x" && req.if_none_match == "\"v1\""));
  CHECK((req.client_address == "10.0.0.9" && req.hops == 1));
  auto res = round_trip(
    fx.sys, forwarded_response{
              429, R"({"error":{}})", {"Retry-After", "2", "ETag", "\"v9\""}, "application/json"});
  CHECK((res.status == 429 && res.body == R"({"error":{}})"));
  CHECK(res.headers == std::vector<std::string>{"Retry-After", "2", "ETag", "\"v9\""});
  CHECK(res.content_type == "application/json");
}

TEST_CASE("booking errors keep their code and text across the wire", "[wire]") {
  testing::actor_fixture fx;
  auto err = make_error(booking_errc::seat_unavailable, "seat 12 is not available");
  auto back = over_the_wire(fx.sys, caf::make_message(err));
  REQUIRE(back.match_element<caf::error>(0));
  auto& got = back.get_as<caf::error>(0);
  CHECK(got == err);
  CHECK(caf::to_string(got) == caf::to_string(err));
}
