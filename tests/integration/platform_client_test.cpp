// platform_client against a tiny in-test Beast server on 127.0.0.1 (plain and TLS with a
// self-signed certificate made on the fly), plus the body signature.

#include "http/platform/event_signing.hpp"
#include "http/platform/platform_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace boxoffice::http;
using namespace std::chrono_literals;

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

// -- the in-test server ----------------------------------------------------------------------

struct received {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers; // lowercase names
  std::string sni;
  int connection = 0; // which accepted connection carried it (1, 2, ...)
};

using response = bhttp::response<bhttp::string_body>;
using handler_fn = std::function<std::optional<response>(const received&)>; // nullopt: hang

response reply(int status, std::string body = "",
               std::vector<std::pair<std::string, std::string>> headers = {}) {
  response r{static_cast<bhttp::status>(status), 11};
  for (auto& [name, value] : headers)
    r.set(name, value);
  r.body() = std::move(body);
  return r;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct server_options {
  std::chrono::milliseconds delay{0}; // before each answer
  bool close_after_response = false;  // close although the answer said keep-alive
  ssl::context* tls = nullptr;
};

class test_server {
public:
  using options = server_options;

  explicit test_server(handler_fn handler, options opts = {})
      : handler_(std::move(handler)), opts_(opts) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~test_server() {
    ioc_.stop();
    thread_.join();
    parked_.clear();
  }

  unsigned short port() const { return port_; }
  std::string url(const char* scheme = "http", const char* host = "127.0.0.1") const {
    return std::string(scheme) + "://" + host + ":" + std::to_string(port_);
  }
  std::vector<received> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  int accepted() const { return accepted_; }
  int max_active() const { return max_active_; }

private:
  class session : public std::enable_shared_from_this<session> {
  public:
    session(test_server& srv, tcp::socket socket, int id) : srv_(srv), timer_(srv.ioc_), id_(id) {
      if (srv.opts_.tls)
        tls_.emplace(std::move(socket), *srv.opts_.tls);
      else
        plain_.emplace(std::move(socket));
      const int now = ++srv_.active_;
      int seen = srv_.max_active_;
      while (now > seen && !srv_.max_active_.compare_exchange_weak(seen, now)) {
      }
    }
    ~session() { --srv_.active_; }

    void start() {
      if (!tls_)
        return read();
      tls_->async_handshake(
        ssl::stream_base::server, [self = shared_from_this()](const error_code& ec) {
          if (ec)
            return;
          const char* name =
            SSL_get_servername(self->tls_->native_handle(), TLSEXT_NAMETYPE_host_name);
          self->sni_ = name ? name : "";
          self->read();
        });
    }

  private:
    beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
    template <class F> void with_stream(F&& f) {
      if (tls_)
        f(*tls_);
      else
        f(*plain_);
    }

    void read() {
      req_ = {};
      with_stream([this](auto& s) {
        bhttp::async_read(
          s, buffer_, req_,
          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
      });
    }

    void on_read(const error_code& ec) {
      if (ec)
        return;
      received r;
      r.method = std::string(req_.method_string());
      r.target = std::string(req_.target());
      r.body = req_.body();
      for (const auto& field : req_)
        r.headers[lower(std::string(field.name_string()))] = std::string(field.value());
      r.sni = sni_;
      r.connection = id_;
      {
        std::lock_guard<std::mutex> lock(srv_.mutex_);
        srv_.requests_.push_back(r);
      }
      auto answer = srv_.handler_(r);
      if (!answer) {
        srv_.parked_.push_back(shared_from_this()); // never answer, keep the socket open
        return;
      }
      res_ = std::move(*answer);
      if (res_.find(bhttp::field::connection) == res_.end())
        res_.keep_alive(req_.keep_alive());
      res_.prepare_payload();
      if (srv_.opts_.delay > 0ms) {
        timer_.expires_after(srv_.opts_.delay);
        timer_.async_wait([self = shared_from_this()](const error_code&) { self->write(); });
      } else {
        write();
      }
    }

    void write() {
      with_stream([this](auto& s) {
        bhttp::async_write(s, res_, [self = shared_from_this()](const error_code& ec, std::size_t) {
          if (ec)
            return;
          if (!self->res_.keep_alive() || self->srv_.opts_.close_after_response) {
            error_code ignored;
            self->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->tcp().close();
            return;
          }
          self->read();
        });
      });
    }

    test_server& srv_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::string_body> req_;
    response res_;
    std::string sni_;
    int id_;
  };

  void accept() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec)
        return;
      std::make_shared<session>(*this, std::move(socket), ++accepted_)->start();
      accept();
    });
  }

  // Declared before ioc_: sessions destroyed with the io_context still touch these.
  handler_fn handler_;
  options opts_;
  mutable std::mutex mutex_;
  std::vector<received> requests_;
  std::atomic<int> accepted_{0}, active_{0}, max_active_{0};
  unsigned short port_ = 0;

  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  std::vector<std::shared_ptr<session>> parked_;
  std::thread thread_;
};

// -- collecting callbacks --------------------------------------------------------------------

struct collector {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<platform_response> got;
  std::vector<std::thread::id> threads;

  std::function<void(platform_response)> callback() {
    return [this](platform_response r) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        got.push_back(std::move(r));
        threads.push_back(std::this_thread::get_id());
      }
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return got.size();
  }
  platform_response at(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    return got.at(i);
  }
};

platform_request request(std::string path, std::string body = "{}",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  return platform_request{std::move(path), std::move(body), std::move(headers)};
}

// A port nothing listens on: bound once by us, then released.
unsigned short closed_port() {
  net::io_context ioc;
  tcp::acceptor a{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

// -- a self-signed certificate for "localhost" -----------------------------------------------

struct self_signed {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

self_signed make_self_signed() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, "DNS:localhost"},
                            {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  self_signed out;
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  out.cert_pem = bio_to_string(cert_bio);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_to_string(key_bio);
  BIO_free(key_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

} // namespace

// -- tests -----------------------------------------------------------------------------------

TEST_CASE("hmac_sha256_hex matches RFC 4231 test case 2", "[event_signing]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(signature_header_value("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 1: 20 bytes of 0x0b, "Hi There".
  CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("a POST arrives with path, body and headers", "[platform_client]") {
  test_server server([](const received&) { return reply(202, "accepted"); });
  collector results;
  platform_client client(server.url() + "/ingest/", 5s, 2);
  const std::string body = R"({"eventId":"e-1","eventType":"RESERVATION_HELD"})";
  client.post(request("/events/reservation", body,
                      {{"X-Idempotency-Key", "e-1"},
                       {"X-Event-Type", "RESERVATION_HELD"},
                       {"X-Signature", signature_header_value("secret", body)}}),
              results.callback());
  REQUIRE(results.wait(1));
  const auto r = results.at(0);
  CHECK(r.status == 202);
  CHECK(r.error.empty());
  CHECK(r.body == "accepted");
  CHECK_FALSE(r.retry_after_seconds);
  CHECK(results.threads.at(0) != std::this_thread::get_id());

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  const auto& got = reqs[0];
  CHECK(got.method == "POST");
  CHECK(got.target == "/ingest/events/reservation");
  CHECK(got.body == body);
  CHECK(got.headers.at("content-type") == "application/json");
  CHECK(got.headers.at("content-length") == std::to_string(body.size()));
  CHECK(got.headers.at("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(got.headers.at("x-idempotency-key") == "e-1");
  CHECK(got.headers.at("x-event-type") == "RESERVATION_HELD");
  CHECK(got.headers.at("x-signature") == "sha256=" + hmac_sha256_hex("secret", body));
}

TEST_CASE("error statuses come back with Retry-After", "[platform_client]") {
  test_server server([](const received& r) -> std::optional<response> {
    if (r.target == "/busy")
      return reply(503, "try later", {{"Retry-After", "7"}});
    if (r.target == "/slow-down")
      return reply(429, "", {{"Retry-After", "  12 "}});
    if (r.target == "/date")
      return reply(503, "", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}});
    return reply(400, std::string(10000, 'x'));
  });
  collector busy, slow, date, bad;
  platform_client client(server.url(), 5s, 1);
  client.post(request("/busy"), busy.callback());
  client.post(request("/slow-down"), slow.callback());
  client.post(request("/date"), date.callback());
  client.post(request("/bad"), bad.callback());
  REQUIRE(busy.wait(1));
  REQUIRE(slow.wait(1));
  REQUIRE(date.wait(1));
  REQUIRE(bad.wait(1));
  CHECK(busy.at(0).status == 503);
  CHECK(busy.at(0).error.empty());
  CHECK(busy.at(0).retry_after_seconds == 7);
  CHECK(busy.at(0).body == "try later");
  CHECK(slow.at(0).status == 429);
  CHECK(slow.at(0).retry_after_seconds == 12);
  CHECK(date.at(0).status == 503);
  CHECK_FALSE(date.at(0).retry_after_seconds);
  // A long body is truncated to 4 KiB, and the connection is still fine for the next request.
  CHECK(bad.at(0).status == 400);
  CHECK(bad.at(0).body == std::string(platform_client::max_body_bytes, 'x'));
  CHECK(server.accepted() == 1);
}

TEST_CASE("a server that never answers yields a timeout", "[platform_client]") {
  test_server server([](const received&) { return std::nullopt; });
  collector results;
  platform_client client(server.url(), 300ms, 1);
  const auto start = steady::now();
  client.post(request("/hang"), results.callback());
  REQUIRE(results.wait(1, 5s));
  const auto elapsed = steady::now() - start;
  const auto r = results.at(0);
  CHECK(r.status == 0);
  CHECK(r.error.find("timeout") != std::string::npos);
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 300ms + 2s);
  CHECK(server.requests().size() == 1); // it did arrive
}

TEST_CASE("a closed port yields status 0 with an error", "[platform_client]") {
  collector results;
  platform_client client("http://127.0.0.1:" + std::to_string(closed_port()), 2s, 1);
  client.post(request("/x"), results.callback());
  REQUIRE(results.wait(1, 5s));
  const auto r = results.at(0);
  CHECK(r.status == 0);
  CHECK_FALSE(r.error.empty());
  CHECK(r.error.find("connect") != std::string::npos);
  CHECK(client.stats().failures == 1);
  CHECK(client.stats().open_connections == 0);
}

TEST_CASE("a TLS handshake that never completes times out within the connect deadline",
          "[platform_client][tls]") {
  // The kernel completes TCP connects into the backlog; nobody ever accepts or speaks TLS.
  net::io_context ioc;
  tcp::acceptor silent{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  const auto port = silent.local_endpoint().port();
  collector results;
  platform_client client("https://127.0.0.1:" + std::to_string(port), 300ms, 1,
                         platform_tls_options{false, ""});
  const auto start = steady::now();
  client.post(request("/x"), results.callback());
  REQUIRE(results.wait(1, 5s));
  const auto elapsed = steady::now() - start;
  CHECK(results.at(0).status == 0);
  CHECK(results.at(0).error == "timeout (tls handshake)");
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 300ms + 2s);
}

TEST_CASE("a connect that never completes times out", "[platform_client]") {
  // A listener with a full accept queue: Linux drops further SYNs, so connect() hangs.
  net::io_context ioc;
  tcp::acceptor full{ioc};
  full.open(tcp::v4());
  full.bind({net::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  const tcp::endpoint ep = full.local_endpoint();
  std::vector<tcp::socket> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.emplace_back(ioc);
    // The connect() syscall starts here; ioc never runs, so nobody waits for it.
    fillers.back().async_connect(ep, [](const error_code&) {});
  }
  std::this_thread::sleep_for(100ms);
  collector results;
  platform_client client("http://127.0.0.1:" + std::to_string(ep.port()), 300ms, 1);
  const auto start = steady::now();
  client.post(request("/x"), results.callback());
  REQUIRE(results.wait(1, 5s));
  const auto elapsed = steady::now() - start;
  INFO(results.at(0).error);
  CHECK(results.at(0).status == 0);
  CHECK(results.at(0).error == "timeout (connect)");
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 300ms + 2s);
}

TEST_CASE("stop() completes queued and in-flight requests", "[platform_client]") {
  test_server server([](const received&) { return std::nullopt; });
  collector results;
  platform_client client(server.url(), 30s, 1);
  for (int i = 0; i < 3; ++i)
    client.post(request("/hang"), results.callback());
  // Wait until the first one is in flight: the other two queue behind the one connection.
  for (int i = 0; i < 200 && server.requests().empty(); ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE(server.requests().size() == 1);
  CHECK(client.stats().queued == 2);
  const auto start = steady::now();
  client.stop();
  CHECK(steady::now() - start < 2s);
  REQUIRE(results.size() == 3); // all done before stop() returned
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(results.at(i).status == 0);
    CHECK(results.at(i).error == "stopped");
  }
  // Afterwards: at once, on the calling thread.
  client.post(request("/late"), results.callback());
  REQUIRE(results.size() == 4);
  CHECK(results.at(3).error == "stopped");
  CHECK(results.threads.at(3) == std::this_thread::get_id());
  client.stop(); // idempotent
}

TEST_CASE("stop() from inside a callback does not deadlock", "[platform_client]") {
  test_server server([](const received&) { return reply(200); });
  collector results;
  auto client = std::make_unique<platform_client>(server.url(), 5s, 1);
  auto* raw = client.get();
  client->post(request("/a"), [&, raw](platform_response r) {
    raw->stop();
    results.callback()(std::move(r));
  });
  REQUIRE(results.wait(1));
  CHECK(results.at(0).status == 200);
  client.reset(); // joins
}

TEST_CASE("keep-alive connections are reused up to max_connections", "[platform_client]") {
  test_server::options opts;
  opts.delay = 50ms;
  test_server server([](const received&) { return reply(200, "ok"); }, opts);
  collector results, more; // declared before the client: they outlive its thread
  platform_client client(server.url(), 5s, 2);
  for (int i = 0; i < 8; ++i)
    client.post(request("/e/" + std::to_string(i)), results.callback());
  REQUIRE(results.wait(8));
  for (std::size_t i = 0; i < 8; ++i)
    CHECK(results.at(i).status == 200);
  CHECK(server.accepted() == 2);
  CHECK(server.max_active() == 2);
  const auto stats = client.stats();
  CHECK(stats.connections_opened == 2);
  CHECK(stats.responses == 8);
  CHECK(stats.open_connections == 2);
  CHECK(stats.idle_connections == 2);
  CHECK(stats.queued == 0);

  // Sequential requests ride the same connection.
  for (int i = 0; i < 3; ++i) {
    client.post(request("/seq"), more.callback());
    REQUIRE(more.wait(static_cast<std::size_t>(i) + 1));
  }
  CHECK(server.accepted() == 2);
}

TEST_CASE("Connection: close is honoured", "[platform_client]") {
  test_server server([](const received&) { return reply(200, "", {{"Connection", "close"}}); });
  collector results;
  platform_client client(server.url(), 5s, 1);
  for (int i = 0; i < 3; ++i) {
    client.post(request("/c"), results.callback());
    REQUIRE(results.wait(static_cast<std::size_t>(i) + 1));
    CHECK(results.at(static_cast<std::size_t>(i)).status == 200);
  }
  CHECK(server.accepted() == 3);
  CHECK(client.stats().open_connections == 0);
}

TEST_CASE("a keep-alive connection closed by the server is retried once, fresh",
          "[platform_client]") {
  test_server::options opts;
  opts.close_after_response = true;
  test_server server([](const received&) { return reply(200, "ok"); }, opts);
  collector results;
  platform_client client(server.url(), 5s, 1);
  for (int i = 0; i < 3; ++i) {
    client.post(request("/k"), results.callback());
    REQUIRE(results.wait(static_cast<std::size_t>(i) + 1));
    std::this_thread::sleep_for(50ms); // let the close reach us while the connection idles
  }
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(results.at(i).error);
    CHECK(results.at(i).status == 200);
  }
  CHECK(server.accepted() == 3);
  CHECK(server.requests().size() == 3);
  CHECK(client.stats().stale_retries == 2);
  CHECK(client.stats().failures == 0);
}

TEST_CASE("requests that cannot be sent fail alone", "[platform_client]") {
  test_server server([](const received&) { return reply(200); });
  collector results;
  platform_client client(server.url(), 5s, 1);
  client.post(request("/x", "{}", {{"X-Bad", "a\r\nInjected: yes"}}), results.callback());
  client.post(request("/with space"), results.callback());
  client.post(request("/fine", "{}", {{"Content-Length", "999"}, {"Host", "evil"}}),
              results.callback());
  REQUIRE(results.wait(3));
  CHECK(results.at(0).status == 0);
  CHECK(results.at(0).error.find("invalid header") != std::string::npos);
  CHECK(results.at(1).status == 0);
  CHECK(results.at(1).error.find("invalid request path") != std::string::npos);
  CHECK(results.at(2).status == 200);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].headers.at("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(reqs[0].headers.at("content-length") == "2");
}

TEST_CASE("malformed base URLs and limits are rejected", "[platform_client]") {
  using ms = std::chrono::milliseconds;
  CHECK_THROWS_AS(platform_client("ftp://host", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("host:80", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://host:99999", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://host:8x", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://host/p?q=1", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://[::1", ms{1000}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://host", ms{0}, 1), std::invalid_argument);
  CHECK_THROWS_AS(platform_client("http://host", ms{1000}, 0), std::invalid_argument);
  CHECK_NOTHROW(platform_client("HTTP://[::1]:8080/prefix", ms{1000}, 1));
  CHECK_NOTHROW(platform_client("https://example.org", ms{1000}, 1));
  CHECK_THROWS_AS(platform_client("https://example.org", ms{1000}, 1,
                                  platform_tls_options{true, "/nonexistent/ca.pem"}),
                  std::runtime_error);
}

TEST_CASE("HTTPS: SNI, verification against a trusted CA, and rejection otherwise",
          "[platform_client][tls]") {
  const auto cert = make_self_signed();
  ssl::context server_ctx{ssl::context::tls_server};
  server_ctx.use_certificate_chain(net::buffer(cert.cert_pem));
  server_ctx.use_private_key(net::buffer(cert.key_pem), ssl::context::pem);
  test_server::options opts;
  opts.tls = &server_ctx;
  test_server server([](const received&) { return reply(201, "created"); }, opts);

  const auto ca_path = std::filesystem::temp_directory_path() /
                       ("boxoffice-platform-test-" + std::to_string(::getpid()) + ".pem");
  {
    std::ofstream out(ca_path);
    out << cert.cert_pem;
  }

  SECTION("trusted through ca_file: delivered, with SNI") {
    collector results;
    platform_client client(server.url("https", "localhost"), 5s, 1,
                           platform_tls_options{true, ca_path.string()});
    client.post(request("/secure", R"({"a":1})"), results.callback());
    client.post(request("/secure", R"({"a":2})"), results.callback());
    REQUIRE(results.wait(2));
    INFO(results.at(0).error);
    CHECK(results.at(0).status == 201);
    CHECK(results.at(0).body == "created");
    CHECK(results.at(1).status == 201);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].sni == "localhost");
    CHECK(reqs[0].body == R"({"a":1})");
    CHECK(reqs[0].headers.at("host") == "localhost:" + std::to_string(server.port()));
    CHECK(server.accepted() == 1); // keep-alive over TLS too
  }
  SECTION("system store only: the self-signed certificate is refused") {
    collector results;
    platform_client client(server.url("https", "localhost"), 5s, 1);
    client.post(request("/secure"), results.callback());
    REQUIRE(results.wait(1));
    CHECK(results.at(0).status == 0);
    CHECK(results.at(0).error.find("certificate verify failed") != std::string::npos);
    CHECK(server.requests().empty());
  }
  SECTION("trusted CA but the wrong host name is refused") {
    collector results;
    platform_client client(server.url("https", "127.0.0.1"), 5s, 1,
                           platform_tls_options{true, ca_path.string()});
    client.post(request("/secure"), results.callback());
    REQUIRE(results.wait(1));
    CHECK(results.at(0).status == 0);
    CHECK(results.at(0).error.find("tls handshake") != std::string::npos);
    CHECK(server.requests().empty());
  }
  SECTION("verification off: accepted") {
    collector results;
    platform_client client(server.url("https", "localhost"), 5s, 1,
                           platform_tls_options{false, ""});
    client.post(request("/secure"), results.callback());
    REQUIRE(results.wait(1));
    CHECK(results.at(0).status == 201);
  }
  SECTION("HTTPS to a plain HTTP server fails without an HTTP status") {
    test_server plain([](const received&) { return reply(200); });
    collector results;
    platform_client client(plain.url("https", "localhost"), 2s, 1,
                           platform_tls_options{true, ca_path.string()});
    client.post(request("/secure"), results.callback());
    REQUIRE(results.wait(1, 5s));
    CHECK(results.at(0).status == 0);
    CHECK_FALSE(results.at(0).error.empty());
  }
  std::filesystem::remove(ca_path);
}
