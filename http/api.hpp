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
};

struct api_response {
  int status = 200;
  std::string body;
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
