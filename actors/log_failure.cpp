#include "actors/log_failure.hpp"

#include <spdlog/spdlog.h>

#include "messages/errors.hpp"

namespace boxoffice {

void log_failure_of(const std::string& what, const caf::error& err) {
  spdlog::warn("{}: {}", what, error_message(err));
}

} // namespace boxoffice
