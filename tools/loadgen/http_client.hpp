// Asynchronous HTTP/1.1 client for the load driver: a pool of keep-alive
// connections to one origin, fed from a FIFO queue. All callbacks run on the
// thread that runs the io_context; a Pool must only be used from that thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

namespace boxoffice::loadgen {

using Clock = std::chrono::steady_clock;

struct Url {
  std::string host;
  std::string port;
  std::string path; // without a trailing slash; empty for the root
};

/// Parses "http://host[:port][/path]". Returns nullopt for anything else
/// (HTTPS is not supported: the driver talks to local services).
std::optional<Url> parse_url(std::string_view text);

/// Replaces id-like path segments (all digits, or UUIDs/hex tokens) by "{id}"
/// and drops the query string: "/concerts/7/schedules/9/seats?x=1" becomes
/// "/concerts/{id}/schedules/{id}/seats".
std::string normalise_path(std::string_view path);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target; // path and query as sent
  std::string body;   // sent with Content-Type: application/json when not empty
  Headers headers;
  std::string endpoint; // name for statistics; empty: not recorded
  /// Latency origin for open-loop measurement (the intended send time).
  std::optional<Clock::time_point> intended;
};

struct Response {
  int status = 0; // 0: no HTTP response (connect/write/read error or timeout)
  std::string body;
  std::string error;       // transport error text when status == 0
  double retry_after = -1; // seconds from Retry-After, -1 when absent
  Clock::duration latency{};
  Clock::time_point started{}; // the latency origin of this attempt
};

struct PoolConfig {
  std::size_t connections = 64;
  Clock::duration timeout = std::chrono::seconds(30);
  /// true: latency counts from enqueue (or Request::intended), so queueing in the
  /// driver is included (open loop); false: from the moment a connection takes it.
  bool measure_from_enqueue = false;
  /// 429/503 answers are retried after Retry-After (1 s when absent, at most 60 s)
  /// this many times before the caller sees them.
  int max_shed_retries = 5;
  std::size_t body_limit = 64u << 20;
};

class Pool {
public:
  using Callback = std::function<void(Response&&)>;
  /// Sees every attempt's response (including the 429/503 ones that are retried).
  using Observer = std::function<void(const Request&, const Response&)>;

  /// Resolves the host synchronously; throws boost::system::system_error on failure.
  Pool(boost::asio::io_context& ioc, Url url, PoolConfig config, Observer observer = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  void request(Request req, Callback cb);

  const Url& url() const { return url_; }
  std::size_t queued() const { return queue_.size(); }
  std::size_t open_connections() const { return conns_.size(); }

private:
  class Connection;
  struct Pending {
    Request req;
    Callback cb;
    Clock::time_point enqueued;
    int shed_retries = 0;
  };

  void enqueue(Pending&& p);
  void dispatch();
  void complete(Connection& conn, Pending p, Response&& r, Clock::time_point sent);

  boost::asio::io_context& ioc_;
  Url url_;
  PoolConfig config_;
  Observer observer_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  std::deque<Pending> queue_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<Connection*> idle_;
};

/// One request on a private io_context, for setup and checks outside the run.
Response http_call(const Url& url, boost::beast::http::verb method, const std::string& target,
                   const std::string& body = {}, const Headers& headers = {},
                   Clock::duration timeout = std::chrono::seconds(30));

} // namespace boxoffice::loadgen
