#pragma once
// Transport to the data platform: an asynchronous HTTP/1.1 client (plain or TLS) with its own
// io_context and thread, keep-alive connection reuse and per-phase timeouts. It knows nothing
// about events, retries or breakers: one post() is one HTTP attempt, and its outcome is reported
// to `done` exactly once. Beast stays inside platform_client.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::http {

struct platform_request {
  std::string path; // appended to the base URL's path prefix; may carry a query string
  std::string body; // sent as is with Content-Type: application/json
  // Extra headers (X-Idempotency-Key, X-Event-Type, X-Signature, ...). A header given here
  // replaces the client's default of the same name; Host, Content-Length, Transfer-Encoding and
  // Connection are the client's own and are ignored here.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct platform_response {
  int status = 0;    // 0 when no HTTP answer (connect refused, timeout, TLS failure, stopped...)
  std::string error; // empty on an HTTP answer; "stopped" when the client stopped first
  std::optional<int> retry_after_seconds; // Retry-After in delta-seconds form (HTTP-date: unset)
  std::string body;                       // at most max_body_bytes; the rest is read and dropped
};

struct platform_tls_options {
  bool verify = true;  // verify the server certificate chain and host name
  std::string ca_file; // PEM bundle trusted in addition to the system store (optional)
};

struct platform_client_stats {
  uint64_t requests = 0;           // post() calls
  uint64_t responses = 0;          // HTTP answers of any status
  uint64_t failures = 0;           // no HTTP answer (including "stopped")
  uint64_t connections_opened = 0; // TCP connections attempted
  uint64_t stale_retries = 0;      // reused connections found closed by the server, retried
  int open_connections = 0;        // connecting, busy or idle
  int idle_connections = 0;
  uint64_t queued = 0; // requests waiting for a connection
};

class platform_client {
public:
  static constexpr std::size_t max_body_bytes = 4096;

  // base_url: "http://host[:port][/prefix]" or "https://host[:port][/prefix]"; IPv6 literals in
  // brackets. `timeout` bounds each phase separately: resolve + connect + TLS handshake, and
  // request + response. Throws std::invalid_argument on a malformed URL or bad limits, and
  // std::runtime_error when the TLS setup fails (e.g. an unreadable ca_file).
  platform_client(std::string base_url, std::chrono::milliseconds timeout, int max_connections,
                  platform_tls_options tls = {});
  ~platform_client(); // stop()
  platform_client(const platform_client&) = delete;
  platform_client& operator=(const platform_client&) = delete;

  // Thread-safe. `done` runs on the client thread exactly once, with the HTTP answer or with the
  // reason there is none. After stop() it runs at once on the calling thread with "stopped".
  // `done` must not block; exceptions it throws are swallowed.
  void post(platform_request req, std::function<void(platform_response)> done);

  // Fails queued and in-flight requests with "stopped", closes the connections and joins the
  // client thread. Idempotent. Called from inside `done` it does not join (the destructor does).
  void stop();

  platform_client_stats stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace boxoffice::http
