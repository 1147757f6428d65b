// Booking errors go through CAF's own error machinery (CAF_ERROR_CODE_ENUM and
// a registered renderer) and keep the message given where they were made.
#include "actor_fixture.hpp"
#include "messages/errors.hpp"

using namespace boxoffice;

TEST_CASE("a booking error is rendered by CAF and keeps its message") {
  testing::actor_fixture f;
  auto err = make_error(booking_errc::wrong_state, "reservation 9 is PAYING, not HELD");
  CHECK(is(err, booking_errc::wrong_state));
  CHECK_FALSE(is(err, booking_errc::not_found));
  CHECK_FALSE(is(caf::make_error(caf::sec::request_timeout), booking_errc::wrong_state));
  CHECK(error_message(err) == "reservation 9 is PAYING, not HELD");
  CHECK(f.sys.render(err) == "booking: wrong_state (reservation 9 is PAYING, not HELD)");
}
