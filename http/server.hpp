#pragma once
// The Beast HTTP/1.1 listener. Its header stays free of Beast and Asio so the
// rest of the program compiles fast; everything lives behind a pimpl.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/api.hpp"

namespace boxoffice::http {

struct server_limits {
  uint32_t max_body_bytes = 16384;
  uint32_t max_header_bytes = 8192;
  int read_timeout_seconds = 10;
  int max_in_flight = 4096;
  // Connections open at once; the excess is answered 503 and closed.
  int max_connections = 10000;
  // How long a keep-alive connection may wait for its next request.
  int idle_timeout_seconds = 30;
  // Unsent bytes a live response (Server-Sent Events) may queue; a reader
  // that falls further behind is dropped.
  uint32_t stream_buffer_bytes = 262144;
};

struct server_counters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> shed{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> refused_connections{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<int64_t> streams{0};          // live responses open now
  std::atomic<uint64_t> dropped_streams{0}; // readers dropped for falling behind
};

class server {
public:
  using request_handler = std::function<void(api_exchange_ptr)>;

  // Binds at once (throws std::runtime_error with the reason on failure).
  server(const std::string& host, uint16_t port, server_limits limits, request_handler handler);
  ~server();

  uint16_t port() const;
  // Calls `fn` every `period` on an I/O thread once started (call before
  // start). For work that serves many connections at once, like pushing
  // seat changes to live seat maps.
  void every(std::chrono::milliseconds period, std::function<void()> fn);
  // Runs the I/O loop on `threads` threads; returns at once.
  void start(int threads);
  // Stops accepting, joins the I/O threads and closes live responses.
  void stop();
  const server_counters& counters() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace boxoffice::http
