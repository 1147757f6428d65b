#pragma once
// Domain errors travel between actors as caf::error values of the "booking"
// category; the HTTP layer maps each code to a status and an error code string.

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <cstdint>
#include <string>

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
};

constexpr caf::atom_value booking_category = caf::atom("booking");

inline caf::error make_error(booking_errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), booking_category,
                    caf::make_message(std::move(message))};
}

inline bool is(const caf::error& err, booking_errc code) {
  return err.category() == booking_category && err.code() == static_cast<uint8_t>(code);
}

// The message given to make_error, or CAF's own rendering for other errors.
std::string error_message(const caf::error& err);

} // namespace boxoffice
