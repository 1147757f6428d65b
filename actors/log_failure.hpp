#pragma once
// Where an actor carries on after a failed request (a retry or a backstop will
// catch up), the error is still logged with what was being done: nothing
// fails silently.

#include <caf/error.hpp>
#include <string>

namespace boxoffice {

// Logs `err` as a warning: "<what>: <error message>".
void log_failure_of(const std::string& what, const caf::error& err);

// An error handler for request(...).then that only logs.
inline auto log_failure(std::string what) {
  return [what = std::move(what)](caf::error& err) { log_failure_of(what, err); };
}

} // namespace boxoffice
