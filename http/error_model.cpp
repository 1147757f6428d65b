#include "http/error_model.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace boxoffice::http {

namespace {

struct mapping {
  booking_errc errc;
  int status;
  const char* code;
};

constexpr mapping mappings[] = {
  {booking_errc::not_found, 404, "NOT_FOUND"},
  {booking_errc::invalid_argument, 400, "INVALID_ARGUMENT"},
  {booking_errc::seat_unavailable, 409, "SEAT_UNAVAILABLE"},
  {booking_errc::hold_limit, 409, "HOLD_LIMIT_REACHED"},
  {booking_errc::wrong_state, 409, "INVALID_STATE"},
  {booking_errc::insufficient_balance, 409, "INSUFFICIENT_BALANCE"},
  {booking_errc::token_missing, 401, "TOKEN_INVALID"},
  {booking_errc::token_forbidden, 403, "TOKEN_FORBIDDEN"},
  {booking_errc::token_not_active, 403, "TOKEN_NOT_ACTIVE"},
  {booking_errc::idempotency_in_flight, 409, "IDEMPOTENCY_KEY_IN_USE"},
  {booking_errc::idempotency_mismatch, 422, "IDEMPOTENCY_KEY_REUSED"},
  {booking_errc::overloaded, 503, "OVERLOADED"},
  {booking_errc::storage_failure, 503, "STORAGE_UNAVAILABLE"},
  {booking_errc::partition_unavailable, 503, "PARTITION_UNAVAILABLE"},
};

} // namespace

api_response json_response(int status, const std::string& body) {
  api_response r;
  r.status = status;
  r.body = body;
  return r;
}

std::string render_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

api_response error_response(int status, const std::string& code, const std::string& message) {
  nlohmann::json j{{"error", {{"code", code}, {"message", message}}}};
  auto r = json_response(status, render_json(j));
  if (status == 503 || status == 429)
    r.headers.emplace_back("Retry-After", "1");
  return r;
}

api_response error_response(const caf::error& err) {
  for (auto& m : mappings)
    if (is(err, m.errc))
      return error_response(m.status, m.code, error_message(err));
  if (err == caf::sec::request_timeout)
    return error_response(503, "TIMEOUT", "the request timed out inside the server; retry");
  if (err == caf::sec::request_receiver_down)
    return error_response(503, "UNAVAILABLE", "the component handling this is restarting; retry");
  return error_response(500, "INTERNAL", "internal error");
}

} // namespace boxoffice::http
