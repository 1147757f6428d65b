#include "tools/loadgen/seat_stream.hpp"

#include <array>
#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace boxoffice::loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool SseReader::feed(std::string_view bytes) {
  buffer_.append(bytes);
  if (!head_done_ && !read_head())
    return status_ == 0 || status_ == 200;
  if (status_ != 200)
    return false;
  std::size_t start = 0;
  for (auto nl = buffer_.find('\n', start); nl != std::string::npos;
       nl = buffer_.find('\n', start)) {
    auto text = std::string_view(buffer_).substr(start, nl - start);
    if (!text.empty() && text.back() == '\r')
      text.remove_suffix(1);
    line(text);
    start = nl + 1;
  }
  buffer_.erase(0, start);
  return true;
}

// True once the head is complete; reads the status code off its first line.
bool SseReader::read_head() {
  auto end = buffer_.find("\r\n\r\n");
  if (end == std::string::npos)
    return false;
  auto first = std::string_view(buffer_).substr(0, buffer_.find("\r\n"));
  auto space = first.find(' ');
  status_ = -1;
  if (space != std::string_view::npos && first.size() >= space + 4) {
    int code = 0;
    auto digits = first.substr(space + 1, 3);
    if (std::from_chars(digits.data(), digits.data() + 3, code).ec == std::errc{})
      status_ = code;
  }
  buffer_.erase(0, end + 4);
  head_done_ = true;
  return true;
}

void SseReader::line(std::string_view text) {
  if (text.empty()) {
    if (!type_.empty() || !data_.empty())
      on_event_(type_.empty() ? "message" : type_, data_);
    type_.clear();
    data_.clear();
    return;
  }
  if (text.front() == ':')
    return;
  auto colon = text.find(':');
  auto field = text.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (field == "event") {
    type_ = value;
  } else if (field == "data") {
    if (!data_.empty())
      data_ += '\n';
    data_ += value;
  }
}

struct SeatStream::io {
  explicit io(asio::io_context& ioc) : socket(ioc), resolver(ioc) {}
  tcp::socket socket;
  tcp::resolver resolver;
  std::array<char, 16384> buffer{};
};

SeatStream::SeatStream(asio::io_context& ioc, Url url, std::string target, std::string token,
                       SseReader::Handler on_event, std::function<void(const std::string&)> on_end)
    : io_(std::make_unique<io>(ioc)), url_(std::move(url)), reader_(std::move(on_event)),
      on_end_(std::move(on_end)) {
  request_ = "GET " + target + " HTTP/1.1\r\nHost: " + url_.host + ":" + url_.port +
             "\r\nAccept: text/event-stream\r\nX-Queue-Token: " + token + "\r\n\r\n";
}

SeatStream::~SeatStream() = default;

void SeatStream::open() {
  auto self = shared_from_this();
  io_->resolver.async_resolve(
    url_.host, url_.port,
    [self](const boost::system::error_code& ec, const tcp::resolver::results_type& endpoints) {
      if (ec)
        return self->end("resolve: " + ec.message());
      asio::async_connect(self->io_->socket, endpoints,
                          [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                            if (ec)
                              return self->end("connect: " + ec.message());
                            asio::async_write(
                              self->io_->socket, asio::buffer(self->request_),
                              [self](const boost::system::error_code& ec, std::size_t) {
                                if (ec)
                                  return self->end("write: " + ec.message());
                                self->read();
                              });
                          });
    });
}

void SeatStream::read() {
  auto self = shared_from_this();
  io_->socket.async_read_some(
    asio::buffer(io_->buffer), [self](const boost::system::error_code& ec, std::size_t n) {
      if (ec)
        return self->end(ec == asio::error::eof ? "closed by the server" : ec.message());
      if (!self->reader_.feed(std::string_view(self->io_->buffer.data(), n)))
        return self->end("HTTP " + std::to_string(self->reader_.status()));
      if (!self->closed_)
        self->read();
    });
}

void SeatStream::close() {
  if (closed_)
    return;
  end("");
}

void SeatStream::end(const std::string& why) {
  if (closed_)
    return;
  closed_ = true;
  boost::system::error_code ignored;
  io_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  io_->socket.close(ignored);
  if (on_end_)
    on_end_(why);
}

} // namespace boxoffice::loadgen
