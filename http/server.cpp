#include "http/server.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <mutex>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>

#include "http/error_model.hpp"
#include "http/reply_guard.hpp"
#include "http/utf8.hpp"

namespace boxoffice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

// How long a closing connection keeps reading (and discarding) what the client
// still sends, so our last answer is not lost to a reset.
constexpr auto linger_time = std::chrono::seconds(2);
// How long the accept loop rests after a failed accept (EMFILE, ENFILE, ...).
constexpr auto accept_backoff = std::chrono::milliseconds(100);

std::string header(const bhttp::request<bhttp::string_body>& req, const char* name) {
  auto i = req.find(name);
  return i == req.end() ? std::string{} : std::string{i->value()};
}

api_request to_api_request(bhttp::request<bhttp::string_body>& req) {
  api_request out;
  out.method = std::string{req.method_string()};
  std::string target{req.target()};
  auto q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string::npos)
    out.query = target.substr(q + 1);
  out.body = std::move(req.body());
  out.token = header(req, "X-Queue-Token");
  out.idempotency_key = header(req, "Idempotency-Key");
  out.authorization = header(req, "Authorization");
  out.if_none_match = header(req, "If-None-Match");
  out.last_event_id = header(req, "Last-Event-ID");
  return out;
}

// The connection's peer, for per-address limits: "" when the socket has none.
std::string peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec)
    return {};
  auto address = peer.address();
  // An IPv4 client of a dual-stack listener counts as its IPv4 address.
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  return address.to_string();
}

using response_ptr = std::shared_ptr<bhttp::response<bhttp::string_body>>;

template <class Message> void fill_head(Message& res, const api_response& resp, bool keep_alive) {
  res.set(bhttp::field::server, "boxoffice");
  if (resp.status != 304)
    res.set(bhttp::field::content_type, resp.content_type);
  for (auto& [k, v] : resp.headers)
    res.set(k, v);
  res.keep_alive(keep_alive);
}

response_ptr to_beast_response(api_response resp, unsigned version, bool keep_alive) {
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
    static_cast<bhttp::status>(resp.status), version);
  fill_head(*res, resp, keep_alive);
  res->body() = std::move(resp.body);
  res->prepare_payload();
  return res;
}

// A response whose body stays in its shared string until written.
struct shared_body_response {
  std::shared_ptr<const std::string> body;
  bhttp::response<bhttp::span_body<const char>> message;
};

std::shared_ptr<shared_body_response> to_shared_response(api_response resp, unsigned version,
                                                         bool keep_alive) {
  auto res = std::make_shared<shared_body_response>();
  res->body = std::move(resp.shared_body);
  auto& m = res->message;
  m.result(static_cast<bhttp::status>(resp.status));
  m.version(version);
  fill_head(m, resp, keep_alive);
  m.body() = {res->body->data(), res->body->size()};
  m.prepare_payload();
  return res;
}

// Ends a connection after our last answer: stop sending, then read and discard
// what the client still sends until it closes or linger_time passes. Closing
// with unread input would reset the connection and could destroy the answer
// before the client has read it.
template <class Owner> void linger_close(std::shared_ptr<Owner> owner, beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(linger_time);
  auto scratch = std::make_shared<std::array<char, 4096>>();
  struct drain {
    std::shared_ptr<Owner> owner;
    beast::tcp_stream& stream;
    std::shared_ptr<std::array<char, 4096>> scratch;
    void operator()(beast::error_code ec, size_t) {
      if (ec) {
        stream.socket().close(ec);
        return;
      }
      stream.async_read_some(net::buffer(*scratch), std::move(*this));
    }
  };
  stream.async_read_some(net::buffer(*scratch), drain{owner, stream, scratch});
}

// Counts an open connection for as long as it lives.
class connection_count {
public:
  explicit connection_count(server_counters& counters) : counters_(counters) {
    counters_.connections++;
  }
  ~connection_count() { counters_.connections--; }
  connection_count(const connection_count&) = delete;
  connection_count& operator=(const connection_count&) = delete;

private:
  server_counters& counters_;
};

// A connection past http.max_connections: told so and closed.
class refusal : public std::enable_shared_from_this<refusal> {
public:
  refusal(tcp::socket socket, server_counters& counters)
      : stream_(std::move(socket)), count_(counters) {}

  void run() {
    auto self = shared_from_this();
    auto resp = error_response(503, "TOO_MANY_CONNECTIONS",
                               "the server has too many open connections; retry later");
    res_ = to_beast_response(std::move(resp), 11, false);
    stream_.expires_after(linger_time);
    bhttp::async_write(stream_, *res_, [self](beast::error_code ec, size_t) {
      if (!ec)
        return linger_close(self, self->stream_);
      self->stream_.socket().close(ec);
    });
  }

private:
  beast::tcp_stream stream_;
  connection_count count_;
  response_ptr res_;
};

// The head of a live response. It has no length: the body ends when the
// connection closes, which every SSE client and proxy understands.
std::string stream_head(const api_response& resp) {
  std::string out = "HTTP/1.1 200 OK\r\nServer: boxoffice\r\nContent-Type: ";
  out += resp.content_type;
  out += "\r\nConnection: close\r\n";
  for (auto& [k, v] : resp.headers)
    out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out;
}

class session;

// The connections serving live responses, so that stop() can close them.
class stream_registry {
public:
  void add(const std::shared_ptr<session>& s) {
    std::lock_guard lock{mutex_};
    live_.erase(std::remove_if(live_.begin(), live_.end(),
                               [](const std::weak_ptr<session>& w) { return w.expired(); }),
                live_.end());
    live_.push_back(s);
  }
  // Only once no I/O thread runs.
  void close_all();

private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<session>> live_;
};

// One client connection: read a request, hand it over, write the answer,
// repeat; or, for a live response, send what its source queues until either
// side ends it.
class session : public std::enable_shared_from_this<session>, public stream_sink {
public:
  session(tcp::socket socket, const server_limits& limits, server_counters& counters,
          const server::request_handler& handler, stream_registry& streams)
      : stream_(std::move(socket)), limits_(limits), counters_(counters), count_(counters),
        handler_(handler), streams_(streams), client_address_(peer_address(stream_.socket())) {}

  ~session() override {
    if (source_)
      counters_.streams--;
  }

  void send(std::shared_ptr<const std::string> bytes, bool snapshot) override {
    if (ended_.load(std::memory_order_relaxed))
      return;
    bool over = snapshot ? snapshots_unsent_.fetch_add(1) > 0
                         : unsent_bytes_.fetch_add(bytes->size()) + bytes->size() >
                             limits_.stream_buffer_bytes;
    if (over)
      return drop();
    net::post(stream_.get_executor(),
              [self = shared_from_this(), bytes = std::move(bytes), snapshot]() mutable {
                self->queue_.push_back({std::move(bytes), snapshot});
                self->write_queued();
              });
  }

  // On the connection's strand, or from stop() once the I/O threads are joined.
  void close() {
    ended_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(limits_.max_header_bytes);
    parser_->body_limit(limits_.max_body_bytes);
    if (!served_ || buffer_.size() > 0)
      return read_request();
    wait_for_next_request();
  }

  // Between keep-alive requests the client may think for idle_timeout; the
  // read timeout starts with the first byte of its next request.
  void wait_for_next_request() {
    stream_.expires_after(std::chrono::seconds(limits_.idle_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec)
                                return self->close();
                              self->read_request();
                            });
  }

  void read_request() {
    // Slow clients get this long for a whole request (headers and body).
    stream_.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    if (ec == bhttp::error::body_limit)
      return reject(413, "PAYLOAD_TOO_LARGE", "the request body exceeds the limit");
    if (ec == bhttp::error::header_limit)
      return reject(431, "HEADERS_TOO_LARGE", "the request headers exceed the limit");
    if (ec)
      return reject(400, "BAD_REQUEST", "malformed HTTP request");
    auto req = parser_->release();
    served_ = true;
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    stream_.expires_never();
    counters_.requests++;
    auto ex = std::make_shared<api_exchange>();
    ex->request = to_api_request(req);
    ex->request.client_address = client_address_;
    // Checked once for every listener: what is not UTF-8 never reaches JSON
    // rendering or the database, both of which would fail on it.
    if (auto part = first_non_utf8_part(ex->request))
      return write(error_response(400, "INVALID_ARGUMENT",
                                  std::string{"the "} + part + " is not valid UTF-8"));
    if (counters_.in_flight.fetch_add(1) >= limits_.max_in_flight) {
      counters_.in_flight--;
      counters_.shed++;
      return write(error_response(503, "OVERLOADED", "the server is at capacity; retry later"));
    }
    auto executor = stream_.get_executor();
    // Called from an actor thread: hop back onto this connection's strand.
    // The guard answers exactly once, even if the exchange is dropped.
    ex->respond = guard_responder([self = shared_from_this(), executor](api_response resp) {
      net::post(executor, [self, resp = std::move(resp)]() mutable {
        self->counters_.in_flight--;
        self->write(std::move(resp));
      });
    });
    handler_(std::move(ex));
  }

  void reject(int status, const char* code, const char* message) {
    keep_alive_ = false;
    write(error_response(status, code, message));
  }

  // Keeps the response alive until written, then reads on or closes.
  template <class Response> auto after_write(Response res) {
    return [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec)
        return self->close();
      if (!self->keep_alive_)
        return linger_close(self, self->stream_);
      self->read();
    };
  }

  void write(api_response resp) {
    if (resp.stream)
      return start_stream(std::move(resp));
    stream_.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    if (resp.shared_body) {
      auto res = to_shared_response(std::move(resp), version_, keep_alive_);
      return bhttp::async_write(stream_, res->message, after_write(res));
    }
    auto res = to_beast_response(std::move(resp), version_, keep_alive_);
    bhttp::async_write(stream_, *res, after_write(res));
  }

  void start_stream(api_response resp) {
    keep_alive_ = false;
    // The kernel's buffer is memory too: bounded like ours, instead of growing
    // to several MB per slow reader under autotuning.
    beast::error_code ec;
    stream_.socket().set_option(
      net::socket_base::send_buffer_size(static_cast<int>(limits_.stream_buffer_bytes)), ec);
    source_ = std::move(resp.stream);
    counters_.streams++;
    streams_.add(shared_from_this());
    send(std::make_shared<const std::string>(stream_head(resp)), false);
    source_->attach(shared_from_this());
    watch_for_close();
  }

  // A stream's client sends nothing more; a read ends when it goes away.
  void watch_for_close() {
    auto scratch = std::make_shared<std::array<char, 512>>();
    stream_.socket().async_read_some(
      net::buffer(*scratch), [self = shared_from_this(), scratch](beast::error_code ec, size_t) {
        if (ec)
          return self->close();
        self->watch_for_close();
      });
  }

  // Too far behind: closed, whatever it still has queued.
  void drop() {
    if (ended_.exchange(true))
      return;
    counters_.dropped_streams++;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  struct chunk {
    std::shared_ptr<const std::string> bytes;
    bool snapshot;
  };

  void write_queued() {
    if (writing_ || queue_.empty() || !stream_.socket().is_open())
      return;
    writing_ = true;
    auto n = std::min<size_t>(queue_.size(), 64);
    std::vector<net::const_buffer> buffers;
    for (size_t i = 0; i < n; ++i)
      buffers.push_back(net::buffer(*queue_[i].bytes));
    // A reader that takes nothing for this long is gone.
    stream_.expires_after(std::chrono::seconds(limits_.idle_timeout_seconds));
    net::async_write(stream_, buffers,
                     [self = shared_from_this(), n](beast::error_code ec, size_t) {
                       self->wrote(n);
                       if (ec)
                         return self->close();
                       self->write_queued();
                     });
  }

  void wrote(size_t n) {
    writing_ = false;
    for (size_t i = 0; i < n; ++i) {
      if (queue_.front().snapshot)
        snapshots_unsent_--;
      else
        unsent_bytes_ -= queue_.front().bytes->size();
      queue_.pop_front();
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const server_limits& limits_;
  server_counters& counters_;
  connection_count count_;
  const server::request_handler& handler_;
  stream_registry& streams_;
  const std::string client_address_;
  // A live response: its source, and what is queued for it.
  std::shared_ptr<stream_source> source_;
  std::deque<chunk> queue_;
  bool writing_ = false;
  std::atomic<bool> ended_{false};
  std::atomic<size_t> unsent_bytes_{0};
  std::atomic<int> snapshots_unsent_{0};
  bool served_ = false; // a request was read: the next one may idle first
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

void stream_registry::close_all() {
  std::lock_guard lock{mutex_};
  for (auto& w : live_)
    if (auto s = w.lock())
      s->close();
  live_.clear();
}

// Calls a function every period until the io_context stops.
class ticker {
public:
  ticker(net::io_context& ioc, std::chrono::milliseconds period, std::function<void()> fn)
      : timer_(ioc), period_(period), fn_(std::move(fn)) {}

  void arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec)
        return;
      try {
        fn_();
      } catch (const std::exception& e) {
        spdlog::error("a periodic HTTP task failed: {}", e.what());
      }
      arm();
    });
  }

private:
  net::steady_timer timer_;
  std::chrono::milliseconds period_;
  std::function<void()> fn_;
};

} // namespace

struct server::impl {
  // Declared before the io_context: handlers still queued when it is
  // destroyed hold sessions, whose destructors use these.
  server_limits limits;
  server_counters counters;
  request_handler handler;
  stream_registry streams;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer backoff{acceptor.get_executor()};
  std::vector<std::unique_ptr<ticker>> tickers;
  std::vector<std::thread> threads;
  std::chrono::steady_clock::time_point last_error_log{};

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted)
        return;
      if (ec)
        return rest_after(ec);
      s.set_option(tcp::no_delay{true}, ec);
      if (counters.connections.load() >= limits.max_connections) {
        counters.refused_connections++;
        std::make_shared<refusal>(std::move(s), counters)->run();
      } else {
        std::make_shared<session>(std::move(s), limits, counters, handler, streams)->run();
      }
      accept();
    });
  }

  // A failed accept (out of file descriptors, mostly) fails again at once
  // while its cause lasts: wait a little instead of spinning on it.
  void rest_after(const beast::error_code& ec) {
    counters.accept_errors++;
    auto now = std::chrono::steady_clock::now();
    if (now - last_error_log >= std::chrono::seconds(1)) {
      last_error_log = now;
      spdlog::warn("accepting a connection failed: {} ({} so far); pausing accepts", ec.message(),
                   counters.accept_errors.load());
    }
    backoff.expires_after(accept_backoff);
    backoff.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec)
        accept();
    });
  }
};

server::server(const std::string& host, uint16_t port, server_limits limits,
               request_handler handler)
    : impl_(std::make_unique<impl>()) {
  impl_->limits = limits;
  impl_->handler = std::move(handler);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("invalid listen address '" + host + "': " + ec.message());
  tcp::endpoint ep{address, port};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec)
    a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    a.bind(ep, ec);
  if (!ec)
    a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
}

server::~server() {
  stop();
}

uint16_t server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void server::every(std::chrono::milliseconds period, std::function<void()> fn) {
  impl_->tickers.push_back(std::make_unique<ticker>(impl_->ioc, period, std::move(fn)));
}

void server::start(int threads) {
  impl_->accept();
  for (auto& t : impl_->tickers)
    t->arm();
  for (int i = 0; i < threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void server::stop() {
  if (impl_->ioc.stopped() && impl_->threads.empty())
    return;
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->backoff.cancel();
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  // Live responses never end by themselves: end them, so their clients see
  // the close now rather than when the server object goes.
  impl_->streams.close_all();
}

const server_counters& server::counters() const {
  return impl_->counters;
}

} // namespace boxoffice::http
