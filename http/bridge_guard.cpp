#include "http/bridge_guard.hpp"

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "http/error_model.hpp"

namespace boxoffice::http {

namespace {

std::string describe(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

} // namespace

void answer_internal_error(const char* bridge, const api_exchange_ptr& ex,
                           const std::exception_ptr& failure) noexcept {
  try {
    spdlog::error("the {} bridge failed on {} {}: {}", bridge, ex->request.method,
                  ex->request.path.size() <= 200 ? ex->request.path
                                                 : ex->request.path.substr(0, 200),
                  describe(failure));
    ex->respond(error_response(500, "INTERNAL", "the server failed to handle this request"));
  } catch (...) {
    // Nothing left to do: the reply guard answers when the exchange goes.
  }
}

void install_exception_handler(caf::scheduled_actor* self, const char* bridge,
                               bridge_guard* guard) {
  self->set_exception_handler(
    [bridge, guard](caf::scheduled_actor*, std::exception_ptr& failure) -> caf::error {
      if (guard->current) {
        answer_internal_error(bridge, guard->current, failure);
        guard->current.reset();
      } else {
        spdlog::error("the {} bridge failed in a continuation: {}; it restarts", bridge,
                      describe(failure));
      }
      return caf::make_error(caf::sec::runtime_error, describe(failure));
    });
}

} // namespace boxoffice::http
