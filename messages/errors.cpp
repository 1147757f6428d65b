#include "messages/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/deep_to_string.hpp>

namespace boxoffice {

namespace {

constexpr caf::atom_value booking_category = caf::detail::error_factory<booking_errc>::category;

// The message given at the error site, if there is one.
const std::string* site_message(const caf::message& context) {
  if (!context.match_elements<std::string>())
    return nullptr;
  return &context.get_as<std::string>(0);
}

std::string render_booking_error(uint8_t code, caf::atom_value category,
                                 const caf::message& context) {
  auto result = caf::to_string(category) + ": " + to_string(static_cast<booking_errc>(code));
  if (auto message = site_message(context))
    result += " (" + *message + ")";
  return result;
}

} // namespace

std::string to_string(booking_errc code) {
  switch (code) {
    case booking_errc::not_found:
      return "not_found";
    case booking_errc::invalid_argument:
      return "invalid_argument";
    case booking_errc::seat_unavailable:
      return "seat_unavailable";
    case booking_errc::hold_limit:
      return "hold_limit";
    case booking_errc::wrong_state:
      return "wrong_state";
    case booking_errc::insufficient_balance:
      return "insufficient_balance";
    case booking_errc::token_missing:
      return "token_missing";
    case booking_errc::token_forbidden:
      return "token_forbidden";
    case booking_errc::token_not_active:
      return "token_not_active";
    case booking_errc::idempotency_in_flight:
      return "idempotency_in_flight";
    case booking_errc::idempotency_mismatch:
      return "idempotency_mismatch";
    case booking_errc::overloaded:
      return "overloaded";
    case booking_errc::storage_failure:
      return "storage_failure";
    case booking_errc::partition_unavailable:
      return "partition_unavailable";
  }
  // A code this build does not know (sent by a newer peer).
  return "booking_errc(" + std::to_string(static_cast<int>(code)) + ")";
}

void add_booking_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(booking_category, render_booking_error);
}

std::string error_message(const caf::error& err) {
  if (err.category() == booking_category)
    if (auto message = site_message(err.context()))
      return *message;
  return caf::to_string(err);
}

} // namespace boxoffice
