#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

#include "http/error_model.hpp"

namespace boxoffice::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

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
  return out;
}

// One client connection: read a request, hand it over, write the answer, repeat.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, const server_limits& limits, server_counters& counters,
          const server::request_handler& handler)
    : stream_(std::move(socket)), limits_(limits), counters_(counters), handler_(handler) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(limits_.max_header_bytes);
    parser_->body_limit(limits_.max_body_bytes);
    // Slow clients get this long for a whole request (headers and body).
    stream_.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->on_read(ec);
                      });
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
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    stream_.expires_never();
    counters_.requests++;
    if (counters_.in_flight.fetch_add(1) >= limits_.max_in_flight) {
      counters_.in_flight--;
      counters_.shed++;
      return write(error_response(503, "OVERLOADED", "the server is at capacity; retry later"));
    }
    auto ex = std::make_shared<api_exchange>();
    ex->request = to_api_request(req);
    auto executor = stream_.get_executor();
    // Called from an actor thread: hop back onto this connection's strand.
    ex->respond = [self = shared_from_this(), executor](api_response resp) {
      net::post(executor, [self, resp = std::move(resp)]() mutable {
        self->counters_.in_flight--;
        self->write(std::move(resp));
      });
    };
    handler_(std::move(ex));
  }

  void reject(int status, const char* code, const char* message) {
    keep_alive_ = false;
    write(error_response(status, code, message));
  }

  void write(api_response resp) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(resp.status), version_);
    res->set(bhttp::field::server, "boxoffice");
    res->set(bhttp::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers)
      res->set(k, v);
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !self->keep_alive_)
                           return self->close();
                         self->read();
                       });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const server_limits& limits_;
  server_counters& counters_;
  const server::request_handler& handler_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

} // namespace

struct server::impl {
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  server_limits limits;
  server_counters counters;
  request_handler handler;
  std::vector<std::thread> threads;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted)
        return;
      if (!ec) {
        s.set_option(tcp::no_delay{true}, ec);
        std::make_shared<session>(std::move(s), limits, counters, handler)->run();
      }
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

server::~server() { stop(); }

uint16_t server::port() const { return impl_->acceptor.local_endpoint().port(); }

void server::start(int threads) {
  impl_->accept();
  for (int i = 0; i < threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void server::stop() {
  if (impl_->ioc.stopped() && impl_->threads.empty())
    return;
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

const server_counters& server::counters() const { return impl_->counters; }

} // namespace boxoffice::http
