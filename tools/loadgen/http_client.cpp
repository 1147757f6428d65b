#include "tools/loadgen/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace boxoffice::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::optional<Url> parse_url(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (text.substr(0, scheme.size()) != scheme)
    return std::nullopt;
  text.remove_prefix(scheme.size());
  const auto slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (authority.empty())
    return std::nullopt;
  Url url;
  std::string_view host = authority;
  std::string_view port = "80";
  if (authority.front() == '[') { // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  url.host = std::string(host);
  url.port = std::string(port);
  url.path = std::string(path);
  return url;
}

namespace {

bool id_like(std::string_view seg) {
  if (seg.empty())
    return false;
  if (std::all_of(seg.begin(), seg.end(), [](unsigned char c) { return std::isdigit(c); }))
    return true;
  // UUIDs and long hex tokens.
  if (seg.size() >= 16 && std::all_of(seg.begin(), seg.end(),
                                      [](unsigned char c) { return std::isxdigit(c) || c == '-'; }))
    return true;
  return false;
}

double parse_retry_after(std::string_view v) {
  if (v.empty())
    return -1;
  const std::string s(v);
  char* end = nullptr;
  const double secs = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || secs < 0)
    return 1.0; // an HTTP-date or garbage: wait a second
  return secs;
}

bool stale_connection_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

} // namespace

std::string normalise_path(std::string_view path) {
  path = path.substr(0, path.find('?'));
  std::string out;
  out.reserve(path.size());
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      out.push_back('/');
      ++pos;
      continue;
    }
    const auto next = path.find('/', pos);
    const auto seg =
      path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (id_like(seg))
      out += "{id}";
    else
      out.append(seg.data(), seg.size());
    pos += seg.size();
  }
  return out;
}

// One keep-alive connection. It is either idle (owned by Pool::idle_) or busy
// with exactly one Pending request.
class Pool::Connection {
public:
  explicit Connection(Pool& pool) : pool_(pool), stream_(pool.ioc_) {}

  void start(Pending&& p) {
    cur_ = std::move(p);
    sent_ = Clock::now();
    retried_stale_ = false;
    build_request();
    // One deadline covers connect (if needed), write and read of this request.
    stream_.expires_after(pool_.config_.timeout);
    if (connected_) {
      reused_ = true;
      write();
    } else {
      reused_ = false;
      connect();
    }
  }

private:
  void build_request() {
    req_ = {};
    req_.version(11);
    req_.method(cur_.req.method);
    req_.target(cur_.req.target);
    req_.set(http::field::host, pool_.url_.host + ":" + pool_.url_.port);
    req_.set(http::field::user_agent, "boxoffice-loadgen");
    req_.set(http::field::accept, "application/json");
    for (const auto& [name, value] : cur_.req.headers)
      req_.set(name, value);
    if (!cur_.req.body.empty() || cur_.req.method == http::verb::post ||
        cur_.req.method == http::verb::put) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = cur_.req.body;
    }
    req_.keep_alive(true);
    req_.prepare_payload();
  }

  void connect() {
    stream_.async_connect(pool_.endpoints_,
                          [this](const beast::error_code& ec, const tcp::endpoint&) {
                            if (ec)
                              return fail(ec, "connect");
                            connected_ = true;
                            beast::error_code ignored;
                            stream_.socket().set_option(tcp::no_delay(true), ignored);
                            write();
                          });
  }

  void write() {
    http::async_write(stream_, req_, [this](const beast::error_code& ec, std::size_t) {
      if (ec)
        return fail(ec, "write");
      read();
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(pool_.config_.body_limit);
    http::async_read(stream_, buffer_, *parser_, [this](const beast::error_code& ec, std::size_t) {
      if (ec)
        return fail(ec, "read");
      finish();
    });
  }

  void finish() {
    auto res = parser_->release();
    parser_.reset();
    Response r;
    r.status = static_cast<int>(res.result_int());
    r.retry_after = parse_retry_after(res[http::field::retry_after]);
    r.body = std::move(res.body());
    if (!res.keep_alive())
      close();
    pool_.complete(*this, std::move(cur_), std::move(r), sent_);
  }

  void fail(const beast::error_code& ec, const char* what) {
    close();
    // A keep-alive connection the server closed while idle: reconnect and try once more.
    if (reused_ && !retried_stale_ && stale_connection_error(ec)) {
      retried_stale_ = true;
      reused_ = false;
      stream_.expires_after(pool_.config_.timeout);
      connect();
      return;
    }
    Response r;
    r.status = 0;
    r.error = std::string(what) + ": " +
              (ec == beast::error::timeout ? std::string("timeout") : ec.message());
    pool_.complete(*this, std::move(cur_), std::move(r), sent_);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
    buffer_.clear();
    parser_.reset();
  }

  Pool& pool_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Pending cur_;
  Clock::time_point sent_{};
  bool connected_ = false;
  bool reused_ = false;
  bool retried_stale_ = false;
};

Pool::Pool(asio::io_context& ioc, Url url, PoolConfig config, Observer observer)
    : ioc_(ioc), url_(std::move(url)), config_(config), observer_(std::move(observer)) {
  if (config_.connections == 0)
    config_.connections = 1;
  tcp::resolver resolver(ioc_);
  endpoints_ = resolver.resolve(url_.host, url_.port);
}

Pool::~Pool() = default;

void Pool::request(Request req, Callback cb) {
  Pending p;
  p.req = std::move(req);
  p.cb = std::move(cb);
  enqueue(std::move(p));
}

void Pool::enqueue(Pending&& p) {
  p.enqueued = Clock::now();
  queue_.push_back(std::move(p));
  dispatch();
}

void Pool::dispatch() {
  while (!queue_.empty()) {
    Connection* conn = nullptr;
    if (!idle_.empty()) {
      conn = idle_.back();
      idle_.pop_back();
    } else if (conns_.size() < config_.connections) {
      conns_.push_back(std::make_unique<Connection>(*this));
      conn = conns_.back().get();
    } else {
      return;
    }
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    conn->start(std::move(p));
  }
}

void Pool::complete(Connection& conn, Pending p, Response&& r, Clock::time_point sent) {
  const auto now = Clock::now();
  r.started = config_.measure_from_enqueue ? p.req.intended.value_or(p.enqueued) : sent;
  r.latency = now - r.started;
  if (observer_ && !p.req.endpoint.empty())
    observer_(p.req, r);
  idle_.push_back(&conn);

  const bool shed = r.status == 429 || r.status == 503;
  if (shed && p.shed_retries < config_.max_shed_retries) {
    ++p.shed_retries;
    const double secs = std::clamp(r.retry_after < 0 ? 1.0 : r.retry_after, 0.0, 60.0);
    auto timer = std::make_shared<asio::steady_timer>(
      ioc_, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs)));
    auto pending = std::make_shared<Pending>(std::move(p));
    timer->async_wait([this, timer, pending](const beast::error_code&) {
      pending->req.intended.reset();
      enqueue(std::move(*pending));
    });
  } else {
    auto cb = std::move(p.cb);
    cb(std::move(r));
  }
  dispatch();
}

Response http_call(const Url& url, http::verb method, const std::string& target,
                   const std::string& body, const Headers& headers, Clock::duration timeout) {
  asio::io_context ioc;
  PoolConfig config;
  config.connections = 1;
  config.timeout = timeout;
  config.max_shed_retries = 0;
  config.body_limit = 1u << 30;
  Response out;
  try {
    Pool pool(ioc, url, config);
    Request req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.headers = headers;
    pool.request(std::move(req), [&out](Response&& r) { out = std::move(r); });
    ioc.run();
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

} // namespace boxoffice::loadgen
