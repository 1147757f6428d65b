#pragma once
// Domain errors travel between actors as caf::error values of the "booking"
// category, registered with CAF_ERROR_CODE_ENUM; the HTTP layer maps each code
// to a status and an error code string.

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <cstdint>
#include <string>

namespace caf {
class actor_system_config;
}

namespace boxoffice {

enum class booking_errc : uint8_t {
  not_found = 1,
  invalid_argument,
  seat_unavailable,
  hold_limit,
  wrong_state,
  insufficient_balance,
  token_missing,
  token_forbidden,
  token_not_active,
  idempotency_in_flight,
  idempotency_mismatch,
  overloaded,
  storage_failure,
  // The key's partition has no live owner (a node is joining or has just
  // died), or its owner cannot be reached: retry shortly.
  partition_unavailable,
};

std::string to_string(booking_errc code);

} // namespace boxoffice

// "booking_errc" is too long for an atom: the category keeps its old name.
CAF_ERROR_CODE_ENUM(boxoffice::booking_errc, "booking")

namespace boxoffice {

// make_error(booking_errc::x, "message") builds the error through CAF's
// factory for the registered enum; the message is its context.
using caf::make_error;

inline bool is(const caf::error& err, booking_errc code) {
  return err.compare(static_cast<uint8_t>(code),
                     caf::detail::error_factory<booking_errc>::category) == 0;
}

// Lets the actor system render booking errors (actor_system::render) as
// "booking: <code> (<message>)".
void add_booking_error_category(caf::actor_system_config& cfg);

// The message given to make_error, or CAF's own rendering for other errors.
std::string error_message(const caf::error& err);

} // namespace boxoffice
