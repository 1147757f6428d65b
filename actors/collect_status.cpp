#include "actors/collect_status.hpp"

#include <caf/sec.hpp>

#include "actors/log_failure.hpp"
#include "messages/errors.hpp"

namespace boxoffice {

status_collection::status_collection(size_t expected, collected_handler done)
    : expected_(expected), missing_(expected), done_(std::move(done)) {}

void status_collection::add(const std::string& name, caf::settings status) {
  collected_[name] = std::move(status);
  settle_one();
}

void status_collection::add_failure(const std::string& name, const caf::error& err) {
  if (failed_++ == 0) {
    first_failed_ = name;
    first_error_ = err;
  }
  caf::settings entry;
  entry["error"] = err == caf::sec::request_timeout ? std::string{"timeout"} : error_message(err);
  collected_[name] = std::move(entry);
  settle_one();
}

// One log line per collection, not one per silent actor: an overloaded
// system must not also flood the log each time an operator looks.
void status_collection::settle_one() {
  if (--missing_ > 0)
    return;
  if (failed_ > 0)
    log_failure_of("status of " + first_failed_ + " (" + std::to_string(failed_) + " of " +
                     std::to_string(expected_) + " did not answer)",
                   first_error_);
  done_(std::move(collected_));
}

} // namespace boxoffice
