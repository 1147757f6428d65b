#include "http/reply_guard.hpp"

#include <atomic>
#include <spdlog/spdlog.h>

#include "http/error_model.hpp"

namespace boxoffice::http {

namespace {

class reply_once {
public:
  explicit reply_once(responder deliver) : deliver_(std::move(deliver)) {}

  reply_once(const reply_once&) = delete;
  reply_once& operator=(const reply_once&) = delete;

  ~reply_once() {
    if (answered_.load())
      return;
    try {
      deliver_(abandoned_response());
    } catch (const std::exception& e) {
      spdlog::error("could not answer an abandoned request: {}", e.what());
    }
  }

  void send(api_response r) {
    if (answered_.exchange(true))
      return; // a second answer would corrupt the connection's stream
    deliver_(std::move(r));
  }

private:
  responder deliver_;
  std::atomic<bool> answered_{false};
};

} // namespace

api_response abandoned_response() {
  return error_response(503, "UNAVAILABLE", "the component handling this request restarted; retry");
}

responder guard_responder(responder deliver) {
  auto once = std::make_shared<reply_once>(std::move(deliver));
  return [once](api_response r) { once->send(std::move(r)); };
}

} // namespace boxoffice::http
