#include "messages/errors.hpp"

#include <caf/deep_to_string.hpp>

namespace boxoffice {

std::string error_message(const caf::error& err) {
  if (err.category() == booking_category && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

} // namespace boxoffice
