// hello_server — the HTTP baseline for scripts/bench: an asynchronous Boost.Beast server on one
// io thread that answers every request with 200 "hello", keeping connections alive. It does what
// boxoffice's HTTP layer must do at the least (parse, route nothing, serialise) and nothing more,
// so its requests per second are the ceiling the seat-map reads are measured against.
//
// usage: hello_server [--host 127.0.0.1] [--port 0] [--port-file PATH]

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  void start() { read(); }

private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec)
                         return self->close();
                       self->answer();
                     });
  }

  void answer() {
    response_ = {};
    response_.version(request_.version());
    response_.result(http::status::ok);
    response_.set(http::field::server, "hello_server");
    response_.set(http::field::content_type, "text/plain");
    response_.keep_alive(request_.keep_alive());
    response_.body() = "hello";
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class Listener {
public:
  Listener(asio::io_context& ioc, const tcp::endpoint& endpoint) : acceptor_(ioc) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket))->start();
      }
      if (acceptor_.is_open())
        accept();
    });
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

private:
  tcp::acceptor acceptor_;
};

[[noreturn]] void usage(int code) {
  (code == 0 ? std::cout : std::cerr)
    << "usage: hello_server [--host HOST] [--port PORT] [--port-file PATH]\n"
       "Answers every HTTP request with 200 \"hello\" (one io thread, keep-alive).\n"
       "  --host HOST       address to listen on (default 127.0.0.1)\n"
       "  --port PORT       port (default 0 = any free port)\n"
       "  --port-file PATH  write the bound port to PATH once listening\n";
  std::exit(code);
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned long port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(2);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h")
      usage(0);
    else if (arg == "--host")
      host = value();
    else if (arg == "--port") {
      const std::string text = value();
      char* end = nullptr;
      port = std::strtoul(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || port > 65535)
        usage(2);
    } else if (arg == "--port-file")
      port_file = value();
    else
      usage(2);
  }

  try {
    asio::io_context ioc{1};
    Listener listener(ioc, {asio::ip::make_address(host), static_cast<unsigned short>(port)});
    listener.accept();
    if (!port_file.empty()) {
      std::ofstream(port_file) << listener.port() << '\n';
    }
    std::cout << "hello_server listening on " << host << ':' << listener.port() << std::endl;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
      listener.stop();
      ioc.stop();
    });
    ioc.run();
  } catch (const std::exception& e) {
    std::cerr << "hello_server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
