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
  std::string last_event_id;   // Last-Event-ID (a live seat map resuming)
  std::string client_address;  // the connection's peer (per-address limits)
  // Came from another node's front door: served here or refused, never
  // forwarded again.
  bool forwarded = false;
};

// The sending side of a live response (Server-Sent Events): the server's
// connection. Callable from any thread.
class stream_sink {
public:
  virtual ~stream_sink() = default;
  // Queues bytes behind those queued before. Past the connection's buffer
  // limit the connection is dropped instead. A `snapshot` is a whole seat map
  // shared with the cache: it is not counted against the limit, but a second
  // one queued while one is still unsent drops the connection too.
  virtual void send(std::shared_ptr<const std::string> bytes, bool snapshot = false) = 0;
};

// What feeds a live response. The server writes the head, calls attach once,
// and keeps the source for as long as the connection lives.
class stream_source {
public:
  virtual ~stream_source() = default;
  virtual void attach(const std::shared_ptr<stream_sink>& sink) = 0;
};

struct api_response {
  int status = 200;
  std::string body;
  // A body shared with a cache (a seat-map snapshot): sent as it is, never
  // copied. Used instead of `body` when set.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  // Set for a live response: after the head (no length; the body ends when
  // the connection closes) the source sends its events.
  std::shared_ptr<stream_source> stream;
};

using responder = std::function<void(api_response)>;

struct api_exchange {
  api_request request;
  responder respond;
};

using api_exchange_ptr = std::shared_ptr<api_exchange>;

} // namespace boxoffice::http
