#include "http/platform/platform_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <climits>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace boxoffice::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

const char* const stopped_error = "stopped";

// -- base URL --------------------------------------------------------------------------------

struct parsed_url {
  bool tls = false;
  std::string host; // without IPv6 brackets: what the resolver, SNI and verification take
  std::string port;
  std::string prefix;      // path prefix without a trailing '/', possibly empty
  std::string host_header; // host[:port] as the Host header wants it
  bool host_is_ip = false;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

parsed_url parse_base_url(const std::string& url) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("invalid platform URL '" + url + "': " + why);
  };
  parsed_url out;
  std::string_view rest;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    throw bad("expected http:// or https://");
  const auto scheme = lower(std::string_view{url}.substr(0, scheme_end));
  if (scheme == "https")
    out.tls = true;
  else if (scheme != "http")
    throw bad("expected http:// or https://");
  rest = std::string_view{url}.substr(scheme_end + 3);
  if (rest.find_first_of("?# \t\r\n") != std::string_view::npos)
    throw bad("query, fragment or whitespace not allowed");
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos)
    out.prefix = std::string(rest.substr(slash));
  while (!out.prefix.empty() && out.prefix.back() == '/')
    out.prefix.pop_back();
  if (authority.find('@') != std::string_view::npos)
    throw bad("user info not supported");
  std::string_view port;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      throw bad("unterminated IPv6 literal");
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        throw bad("garbage after IPv6 literal");
      port = after.substr(1);
    }
    bracketed = true;
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (out.host.empty())
    throw bad("missing host");
  const char* default_port = out.tls ? "443" : "80";
  if (port.empty()) {
    out.port = default_port;
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        }))
      throw bad("bad port");
    const int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535)
      throw bad("bad port");
    out.port = std::to_string(value);
  }
  error_code ec;
  net::ip::make_address(out.host, ec);
  out.host_is_ip = !ec;
  if (bracketed && !out.host_is_ip)
    throw bad("bad IPv6 literal");
  out.host_header = bracketed ? "[" + out.host + "]" : out.host;
  if (out.port != default_port)
    out.host_header += ":" + out.port;
  return out;
}

std::string make_target(const std::string& prefix, const std::string& path) {
  if (path.empty())
    return prefix.empty() ? "/" : prefix;
  if (path.front() == '/' || path.front() == '?')
    return prefix.empty() && path.front() == '?' ? "/" + path : prefix + path;
  return prefix + "/" + path;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c)) != std::string_view::npos;
}

bool valid_header(const std::string& name, const std::string& value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return is_token_char(static_cast<unsigned char>(c));
      }))
    return false;
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool valid_target(const std::string& target) {
  return std::none_of(target.begin(), target.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool is_reserved_header(const std::string& name) {
  const auto n = lower(name);
  return n == "host" || n == "content-length" || n == "transfer-encoding" || n == "connection";
}

std::optional<int> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  long long seconds = 0;
  for (char c : value) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt; // HTTP-date form, or garbage
    seconds = std::min<long long>(seconds * 10 + (c - '0'), INT_MAX);
  }
  return static_cast<int>(seconds);
}

// -- response body capped at max_body_bytes; the rest is consumed so the connection stays usable

struct capped_body {
  using value_type = std::string;

  class reader {
  public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      ec = {};
      std::size_t total = 0;
      for (const auto buffer : beast::buffers_range_ref(buffers)) {
        total += buffer.size();
        const auto room = platform_client::max_body_bytes - body_.size();
        if (room > 0)
          body_.append(static_cast<const char*>(buffer.data()), std::min(room, buffer.size()));
      }
      return total;
    }

    void finish(error_code& ec) { ec = {}; }

  private:
    value_type& body_;
  };
};

// -- one request and its single completion ---------------------------------------------------

struct job {
  platform_request req;
  std::function<void(platform_response)> done;
  bool stale_retry_used = false;
};

void complete(job& j, platform_response response) {
  auto done = std::move(j.done);
  j.done = nullptr;
  if (!done)
    return;
  try {
    done(std::move(response));
  } catch (...) {
    // A callback's failure is its own business; the client thread keeps serving.
  }
}

platform_response failure(std::string error) {
  platform_response r;
  r.error = std::move(error);
  return r;
}

std::string describe(const char* phase, const error_code& ec) {
  if (ec == beast::error::timeout)
    return std::string("timeout (") + phase + ")";
  return std::string(phase) + ": " + ec.message();
}

// A reused keep-alive connection the server has already closed fails like this before any
// byte of the answer arrives; the request is then retried once on a fresh connection.
bool is_stale_connection_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated;
}

} // namespace

// -- impl ------------------------------------------------------------------------------------

struct platform_client::impl {
  class connection;
  using connection_ptr = std::shared_ptr<connection>;

  impl(parsed_url u, std::chrono::milliseconds t, int max_conn, const platform_tls_options& tls);

  // Client thread only.
  void enqueue(job j);
  void pump();
  void finished(const connection_ptr& c, job j, platform_response response, bool reusable);
  void retry_stale(const connection_ptr& c, job j);
  void forget(const connection_ptr& c);
  void shutdown();
  void update_gauges();

  const parsed_url url;
  const std::chrono::milliseconds timeout;
  const std::size_t max_connections;
  const bool verify;

  // Destroyed last: everything below may hold sockets or handlers of it.
  net::io_context ioc{1};
  std::optional<ssl::context> tls_ctx;

  // Client thread only.
  bool stopped = false;
  std::deque<job> queue;
  std::vector<connection_ptr> idle;
  std::vector<connection_ptr> open; // every live connection: connecting, busy or idle

  // Any thread.
  std::mutex gate; // orders post() against stop()
  bool closing = false;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::mutex stop_mutex;
  std::thread thread;
  std::thread::id thread_id;

  std::atomic<uint64_t> n_requests{0}, n_responses{0}, n_failures{0}, n_opened{0}, n_queued{0},
    n_stale{0};
  std::atomic<int> n_open{0}, n_idle{0};
};

class platform_client::impl::connection : public std::enable_shared_from_this<connection> {
public:
  explicit connection(impl& owner)
      : owner_(owner), resolver_(owner.ioc), resolve_timer_(owner.ioc) {
    if (owner.url.tls)
      tls_.emplace(owner.ioc, *owner.tls_ctx);
    else
      plain_.emplace(owner.ioc);
  }

  // A fresh connection: resolve, connect and (TLS) handshake under one deadline, then send.
  void connect(job j) {
    job_ = std::move(j);
    busy_ = true;
    reused_ = false;
    const auto deadline = std::chrono::steady_clock::now() + owner_.timeout;
    resolving_ = true;
    resolve_timer_.expires_at(deadline);
    resolve_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec)
        self->on_resolve_timeout();
    });
    resolver_.async_resolve(owner_.url.host, owner_.url.port,
                            [self = shared_from_this(),
                             deadline](const error_code& ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results), deadline);
                            });
  }

  // An idle keep-alive connection.
  void send(job j) {
    job_ = std::move(j);
    busy_ = true;
    reused_ = true;
    write();
  }

  // Client stop: fail the current request, cancel everything. No callback of ours runs after.
  void abort() {
    resolving_ = false;
    error_code ignored;
    resolve_timer_.cancel(ignored);
    resolver_.cancel();
    tcp().close();
    if (busy_) {
      busy_ = false;
      ++owner_.n_failures;
      complete(job_, failure(stopped_error));
    }
  }

  void close() { tcp().close(); }

private:
  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  template <class F> void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  void on_resolve_timeout() {
    if (!resolving_ || !busy_)
      return;
    resolving_ = false;
    resolver_.cancel(); // the lookup may finish later; on_resolve then sees !resolving_
    fail("timeout (resolve " + owner_.url.host + ")");
  }

  void on_resolve(const error_code& ec, tcp::resolver::results_type results,
                  std::chrono::steady_clock::time_point deadline) {
    if (!resolving_ || !busy_)
      return;
    resolving_ = false;
    error_code ignored;
    resolve_timer_.cancel(ignored);
    if (ec)
      return fail("resolve " + owner_.url.host + ": " + ec.message());
    tcp().expires_at(deadline);
    tcp().async_connect(results,
                        [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
                          self->on_connect(ec);
                        });
  }

  void on_connect(const error_code& ec) {
    if (!busy_)
      return;
    if (ec)
      return fail(describe("connect", ec));
    if (!tls_)
      return write();
    // The deadline set before connecting still runs: it covers the handshake too.
    if (!owner_.url.host_is_ip &&
        !SSL_set_tlsext_host_name(tls_->native_handle(), owner_.url.host.c_str()))
      return fail("tls: cannot set SNI host name");
    if (owner_.verify)
      tls_->set_verify_callback(ssl::host_name_verification(owner_.url.host));
    tls_->async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const error_code& ec) {
    if (!busy_)
      return;
    if (ec)
      return fail(describe("tls handshake", ec));
    write();
  }

  void write() {
    const auto target = make_target(owner_.url.prefix, job_.req.path);
    if (!valid_target(target))
      return fail("invalid request path");
    req_.emplace(bhttp::verb::post, target, 11);
    req_->set(bhttp::field::host, owner_.url.host_header);
    req_->set(bhttp::field::user_agent, "boxoffice");
    req_->set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : job_.req.headers) {
      if (!valid_header(name, value))
        return fail("invalid header '" + name + "'");
      if (!is_reserved_header(name))
        req_->set(name, value);
    }
    req_->body() = job_.req.body;
    req_->prepare_payload();
    tcp().expires_after(owner_.timeout); // the response deadline: write + read
    with_stream([this](auto& stream) {
      bhttp::async_write(
        stream, *req_,
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
    });
  }

  void on_write(const error_code& ec) {
    if (!busy_)
      return;
    if (ec)
      return fail_or_retry("send", ec);
    parser_.emplace();
    parser_->body_limit(boost::none); // capped_body keeps 4 KiB; the deadline bounds the rest
    with_stream([this](auto& stream) {
      bhttp::async_read(
        stream, buffer_, *parser_,
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
    });
  }

  void on_read(const error_code& ec) {
    if (!busy_)
      return;
    if (ec)
      return fail_or_retry("response", ec);
    auto& message = parser_->get();
    platform_response response;
    response.status = static_cast<int>(message.result_int());
    response.retry_after_seconds = parse_retry_after(message[bhttp::field::retry_after]);
    response.body = std::move(message.body());
    const bool reusable = message.keep_alive();
    parser_.reset();
    req_.reset();
    tcp().expires_never();
    busy_ = false;
    owner_.finished(shared_from_this(), std::move(job_), std::move(response), reusable);
  }

  void fail_or_retry(const char* phase, const error_code& ec) {
    const bool nothing_received = !parser_ || !parser_->got_some();
    if (reused_ && !job_.stale_retry_used && nothing_received && is_stale_connection_error(ec)) {
      busy_ = false;
      job_.stale_retry_used = true;
      owner_.retry_stale(shared_from_this(), std::move(job_));
      return;
    }
    fail(describe(phase, ec));
  }

  void fail(std::string error) {
    busy_ = false;
    owner_.finished(shared_from_this(), std::move(job_), failure(std::move(error)), false);
  }

  impl& owner_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  tcp::resolver resolver_;
  net::steady_timer resolve_timer_;
  beast::flat_buffer buffer_; // survives between requests: it belongs to the connection
  std::optional<bhttp::request<bhttp::string_body>> req_;
  std::optional<bhttp::response_parser<capped_body>> parser_;
  job job_;
  bool busy_ = false;
  bool reused_ = false;
  bool resolving_ = false;
};

platform_client::impl::impl(parsed_url u, std::chrono::milliseconds t, int max_conn,
                            const platform_tls_options& tls)
    : url(std::move(u)), timeout(t), max_connections(static_cast<std::size_t>(max_conn)),
      verify(tls.verify) {
  if (url.tls) {
    tls_ctx.emplace(ssl::context::tls_client);
    error_code ec;
    tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                         ec);
    if (!ec)
      tls_ctx->set_default_verify_paths(ec);
    if (!ec && !tls.ca_file.empty())
      tls_ctx->load_verify_file(tls.ca_file, ec);
    if (!ec)
      tls_ctx->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none, ec);
    if (ec)
      throw std::runtime_error("platform client TLS setup failed: " + ec.message() +
                               (tls.ca_file.empty() ? "" : " (ca_file " + tls.ca_file + ")"));
  }
}

void platform_client::impl::enqueue(job j) {
  if (stopped) {
    ++n_failures;
    complete(j, failure(stopped_error));
    return;
  }
  queue.push_back(std::move(j));
  pump();
}

void platform_client::impl::pump() {
  while (!stopped && !queue.empty()) {
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      auto j = std::move(queue.front());
      queue.pop_front();
      c->send(std::move(j));
    } else if (open.size() < max_connections) {
      auto c = std::make_shared<connection>(*this);
      open.push_back(c);
      ++n_opened;
      auto j = std::move(queue.front());
      queue.pop_front();
      c->connect(std::move(j));
    } else {
      break;
    }
  }
  update_gauges();
}

void platform_client::impl::finished(const connection_ptr& c, job j, platform_response response,
                                     bool reusable) {
  if (reusable && !stopped)
    idle.push_back(c);
  else
    forget(c);
  if (response.status != 0)
    ++n_responses;
  else
    ++n_failures;
  update_gauges();
  complete(j, std::move(response));
  pump();
}

void platform_client::impl::retry_stale(const connection_ptr& c, job j) {
  ++n_stale;
  forget(c);
  queue.push_front(std::move(j));
  pump();
}

void platform_client::impl::forget(const connection_ptr& c) {
  c->close();
  open.erase(std::remove(open.begin(), open.end(), c), open.end());
  idle.erase(std::remove(idle.begin(), idle.end(), c), idle.end());
}

void platform_client::impl::shutdown() {
  if (stopped)
    return;
  stopped = true;
  auto connections = std::move(open);
  auto waiting = std::move(queue);
  open.clear();
  idle.clear();
  queue.clear();
  for (auto& c : connections)
    c->abort(); // completes its in-flight request, if any, with "stopped"
  for (auto& j : waiting) {
    ++n_failures;
    complete(j, failure(stopped_error));
  }
  update_gauges();
}

void platform_client::impl::update_gauges() {
  n_open = static_cast<int>(open.size());
  n_idle = static_cast<int>(idle.size());
  n_queued = queue.size();
}

// -- platform_client -------------------------------------------------------------------------

platform_client::platform_client(std::string base_url, std::chrono::milliseconds timeout,
                                 int max_connections, platform_tls_options tls) {
  if (timeout <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("platform client timeout must be positive");
  if (max_connections < 1)
    throw std::invalid_argument("platform client needs at least one connection");
  impl_ = std::make_unique<impl>(parse_base_url(base_url), timeout, max_connections, tls);
  impl_->work.emplace(net::make_work_guard(impl_->ioc));
  impl_->thread = std::thread([i = impl_.get()] {
    for (;;) {
      try {
        i->ioc.run();
        return;
      } catch (...) {
        // Handlers do not throw by design; should one do so anyway, keep serving.
      }
    }
  });
  impl_->thread_id = impl_->thread.get_id();
}

platform_client::~platform_client() {
  stop();
}

void platform_client::post(platform_request req, std::function<void(platform_response)> done) {
  ++impl_->n_requests;
  job j{std::move(req), std::move(done), false};
  {
    std::lock_guard<std::mutex> lock(impl_->gate);
    if (!impl_->closing) {
      // Queued before stop() posts its shutdown and releases the work guard, so it runs.
      net::post(impl_->ioc,
                [i = impl_.get(), j = std::move(j)]() mutable { i->enqueue(std::move(j)); });
      return;
    }
  }
  ++impl_->n_failures;
  complete(j, failure(stopped_error));
}

void platform_client::stop() {
  auto& i = *impl_;
  if (std::this_thread::get_id() == i.thread_id) {
    // From a callback: shut down inline; joining ourselves is impossible, the destructor joins.
    {
      std::lock_guard<std::mutex> lock(i.gate);
      i.closing = true;
      i.work.reset();
    }
    i.shutdown();
    return;
  }
  std::lock_guard<std::mutex> stop_lock(i.stop_mutex);
  {
    std::lock_guard<std::mutex> lock(i.gate);
    if (!i.closing) {
      i.closing = true;
      net::post(i.ioc, [p = &i] { p->shutdown(); });
    }
    i.work.reset();
  }
  if (i.thread.joinable())
    i.thread.join();
}

platform_client_stats platform_client::stats() const {
  platform_client_stats s;
  s.requests = impl_->n_requests;
  s.responses = impl_->n_responses;
  s.failures = impl_->n_failures;
  s.connections_opened = impl_->n_opened;
  s.stale_retries = impl_->n_stale;
  s.open_connections = impl_->n_open;
  s.idle_connections = impl_->n_idle;
  s.queued = impl_->n_queued;
  return s;
}

} // namespace boxoffice::http
