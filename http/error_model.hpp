#pragma once
// One shape for every error: {"error": {"code": "...", "message": "..."}}.

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "http/api.hpp"

namespace caf {
class error;
}

namespace boxoffice::http {

api_response error_response(int status, const std::string& code, const std::string& message);

// Maps an actor-side error to its HTTP status and code.
api_response error_response(const caf::error& err);

api_response json_response(int status, const std::string& body);

// Answers with the mapped error: the error handler of every request, on the
// public API and the admin listener alike.
inline auto fail_with(const api_exchange_ptr& ex) {
  return [ex](caf::error& err) { ex->respond(error_response(err)); };
}

// Renders JSON for an answer. Bytes that are not UTF-8 become U+FFFD instead
// of throwing: nothing a client sent may make rendering fail.
std::string render_json(const nlohmann::json& j);

} // namespace boxoffice::http
