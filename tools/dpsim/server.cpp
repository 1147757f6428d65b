#include "server.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "app.hpp"

namespace dpsim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kBodyLimit = 1 << 20; // events are small; anything bigger is abuse
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kRelistenRetry = std::chrono::seconds(1);

class Server;

// One client connection: reads requests, lets App decide, and answers (now, after a delay, or
// never while hung). Keep-alive: loops until the client closes, a timeout, or the server drops it.
class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket socket, Server& server);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read_request(); }
  // Drops the connection; pending operations finish with operation_aborted and release us.
  void close();

private:
  void read_request();
  void on_read(beast::error_code ec);
  void answer(const Reply& reply, unsigned version, bool keep_alive);
  void write_response();
  void watch_while_hung();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_; // fresh one per request
  http::response<http::string_body> response_;
  asio::steady_timer delay_timer_;
  Server& server_;
  bool closed_ = false;
  char discard_[512]; // bytes a hung client sends; read only to notice it going away
};

class Server {
public:
  Server(asio::io_context& ioc, const Options& options)
      : ioc_(ioc), options_(options), app_(options), acceptor_(ioc), relisten_timer_(ioc),
        accept_retry_timer_(ioc), signals_(ioc, SIGINT, SIGTERM) {}

  void start();
  void shutdown();
  bool stopping() const { return stopping_; }
  App& app() { return app_; }

  void add(Session* session) { sessions_.insert(session); }
  void remove(Session* session) { sessions_.erase(session); }
  void park(std::shared_ptr<Session> session) { hung_.emplace(session.get(), std::move(session)); }
  void unpark(Session* session) { hung_.erase(session); }

  // Carries out the connection-level effects of a reply. Returns true when `current` (the
  // connection that asked) must be closed once its answer is written.
  bool apply(const Reply& reply, Session* current);

private:
  void open_listener();
  void accept();
  void refuse_for(int seconds, Session* current);
  void relisten();
  void release_hung();
  void close_sessions(Session* except);
  void write_port_file();

  asio::io_context& ioc_;
  Options options_;
  App app_;
  tcp::endpoint endpoint_;
  tcp::acceptor acceptor_;
  asio::steady_timer relisten_timer_;
  asio::steady_timer accept_retry_timer_;
  asio::signal_set signals_;
  std::unordered_set<Session*> sessions_; // every live connection, to drop them on refusal
  std::unordered_map<Session*, std::shared_ptr<Session>> hung_; // owned until hang ends
  bool stopping_ = false;
};

// ---- Session ---------------------------------------------------------------------------------

Session::Session(tcp::socket socket, Server& server)
    : stream_(std::move(socket)), delay_timer_(stream_.get_executor()), server_(server) {
  server_.add(this);
}

Session::~Session() {
  server_.remove(this);
}

void Session::close() {
  if (closed_)
    return;
  closed_ = true;
  delay_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

void Session::read_request() {
  if (closed_)
    return;
  parser_.emplace();
  parser_->body_limit(kBodyLimit);
  stream_.expires_after(kReadTimeout);
  http::async_read(
    stream_, buffer_, *parser_,
    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void Session::on_read(beast::error_code ec) {
  if (closed_)
    return;
  if (ec == http::error::body_limit) {
    Reply too_large;
    too_large.status = 413;
    too_large.body = R"({"ok":false,"error":"body over 1 MiB"})";
    answer(too_large, 11, false);
    return;
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    Reply bad;
    bad.status = 400;
    bad.body = R"({"ok":false,"error":"malformed HTTP request"})";
    answer(bad, 11, false);
    return;
  }
  if (ec) { // client closed, timeout, reset, or we closed it
    close();
    return;
  }

  http::request<http::string_body> message = parser_->release();
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  if (auto it = message.find("X-Idempotency-Key"); it != message.end())
    request.idempotency_key = std::string(it->value());
  if (auto it = message.find("X-Event-Type"); it != message.end())
    request.event_type_header = std::string(it->value());
  if (auto it = message.find("X-Signature"); it != message.end())
    request.signature = std::string(it->value());
  request.body = std::move(message.body());

  Reply reply;
  try {
    reply = server_.app().handle(request);
  } catch (const std::exception& e) { // a bug must cost one request, not the simulator
    reply = Reply{};
    reply.status = 500;
    reply.body = R"({"ok":false,"error":"internal error"})";
    std::cerr << "dpsim: internal error: " << e.what() << std::endl;
  }
  const bool close_after = server_.apply(reply, this);

  if (reply.hang) {
    server_.park(shared_from_this());
    watch_while_hung();
    return;
  }
  answer(reply, message.version(), message.keep_alive() && !close_after);
}

void Session::answer(const Reply& reply, unsigned version, bool keep_alive) {
  response_ = {};
  response_.version(version);
  response_.result(reply.status);
  response_.set(http::field::server, "dpsim");
  response_.set(http::field::content_type, "application/json");
  if (reply.retry_after > 0)
    response_.set(http::field::retry_after, std::to_string(reply.retry_after));
  response_.keep_alive(keep_alive);
  response_.body() = reply.body;
  response_.prepare_payload();

  if (reply.delay_ms <= 0) {
    write_response();
    return;
  }
  delay_timer_.expires_after(std::chrono::milliseconds(reply.delay_ms));
  delay_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->closed_)
      self->write_response();
  });
}

void Session::write_response() {
  stream_.expires_after(kWriteTimeout);
  http::async_write(stream_, response_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec || self->closed_)
                        return self->close();
                      if (self->response_.need_eof() || self->server_.stopping())
                        return self->close();
                      self->read_request();
                    });
}

// A hung request gets no answer, but reading on lets us notice the client giving up so the
// connection does not linger until the hang ends.
void Session::watch_while_hung() {
  stream_.expires_never();
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (!ec && !self->closed_)
                              return self->watch_while_hung();
                            self->close();
                            self->server_.unpark(self.get());
                          });
}

// ---- Server ----------------------------------------------------------------------------------

void Server::start() {
  asio::ip::address address;
  beast::error_code ec;
  address = asio::ip::make_address(options_.host, ec);
  if (ec) { // a name such as "localhost": take its first address
    tcp::resolver resolver(ioc_);
    address = resolver.resolve(options_.host, "")->endpoint().address();
  }
  endpoint_ = tcp::endpoint(address, options_.port);
  open_listener();                        // throws: failing to listen at start is fatal
  endpoint_ = acceptor_.local_endpoint(); // learn the port when 0 was asked for

  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  std::cout << "dpsim listening on http://" << host << ':' << endpoint_.port() << std::endl;
  write_port_file();

  signals_.async_wait([this](beast::error_code error, int signal) {
    if (error)
      return;
    std::cerr << "dpsim: signal " << signal << ", stopping" << std::endl;
    shutdown();
  });

  if (app_.faults().refuse_seconds > 0)
    refuse_for(app_.faults().refuse_seconds, nullptr);
  else
    accept();
}

void Server::open_listener() {
  acceptor_.open(endpoint_.protocol());
  // Lets the reopened listener bind its port although old connections sit in TIME_WAIT.
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint_);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Server::write_port_file() {
  if (options_.port_file.empty())
    return;
  // Write then rename, so a test polling the file never reads half a number.
  const std::string temporary = options_.port_file + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << endpoint_.port() << '\n';
  }
  if (std::rename(temporary.c_str(), options_.port_file.c_str()) != 0)
    std::cerr << "dpsim: cannot write " << options_.port_file << std::endl;
}

void Server::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open() || stopping_)
      return;
    if (ec) { // e.g. out of file descriptors: back off instead of spinning
      std::cerr << "dpsim: accept: " << ec.message() << std::endl;
      accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_.async_wait([this](beast::error_code error) {
        if (!error && acceptor_.is_open() && !stopping_)
          accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), *this)->start();
    accept();
  });
}

bool Server::apply(const Reply& reply, Session* current) {
  if (reply.release_hung)
    release_hung();
  if (reply.refuse_seconds > 0) {
    refuse_for(reply.refuse_seconds, current);
    return true;
  }
  if (reply.reopen_now && !acceptor_.is_open()) {
    relisten_timer_.cancel();
    relisten();
  }
  return false;
}

void Server::refuse_for(int seconds, Session* current) {
  std::cerr << "dpsim: refusing connections for " << seconds << " s" << std::endl;
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_timer_.cancel();
  // Clients with keep-alive connections would otherwise never notice the outage.
  release_hung();
  close_sessions(current);
  relisten_timer_.expires_after(std::chrono::seconds(seconds));
  relisten_timer_.async_wait([this](beast::error_code ec) {
    if (!ec)
      relisten();
  });
}

void Server::relisten() {
  if (stopping_)
    return;
  beast::error_code ec;
  try {
    open_listener();
  } catch (const std::exception& e) {
    std::cerr << "dpsim: cannot listen again yet: " << e.what() << std::endl;
    acceptor_.close(ec);
    relisten_timer_.expires_after(kRelistenRetry);
    relisten_timer_.async_wait([this](beast::error_code error) {
      if (!error)
        relisten();
    });
    return;
  }
  app_.refusal_ended();
  std::cerr << "dpsim: accepting connections again" << std::endl;
  accept();
}

void Server::release_hung() {
  auto hung = std::move(hung_); // closing may re-enter unpark; work on our own copy
  hung_.clear();
  for (auto& [session, owner] : hung)
    owner->close();
}

void Server::close_sessions(Session* except) {
  // Copy first: closing can end a session and erase it from sessions_.
  const std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
  for (Session* session : sessions)
    if (session != except && sessions_.count(session))
      session->close();
}

void Server::shutdown() {
  stopping_ = true;
  beast::error_code ignored;
  signals_.cancel(ignored);
  relisten_timer_.cancel();
  accept_retry_timer_.cancel();
  acceptor_.close(ignored);
  release_hung();
  close_sessions(nullptr);
  // No stop(): run() returns by itself once the aborted operations have drained, so every
  // session is destroyed while the server still exists.
}

} // namespace

int run_server(const Options& options) {
  asio::io_context ioc{1};
  Server server(ioc, options);
  server.start();
  ioc.run();
  return 0;
}

} // namespace dpsim
