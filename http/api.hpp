#pragma once
// The HTTP server hands each request to the actor side as an api_exchange and
// gets the answer back through its callback. Nothing here knows Beast.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::http {

struct api_request {
  std::string method; // GET, POST, ...
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  std::string body;
  std::string token;           // X-Queue-Token
  std::string idempotency_key; // Idempotency-Key
  std::string authorization;   // Authorization
  std::string if_none_match;   // If-None-Match
};

struct api_response {
  int status = 200;
  std::string body;
  // A body shared with a cache (a seat-map snapshot): sent as it is, never
  // copied. Used instead of `body` when set.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
};

using responder = std::function<void(api_response)>;

struct api_exchange {
  api_request request;
  responder respond;
};

using api_exchange_ptr = std::shared_ptr<api_exchange>;

} // namespace boxoffice::http
