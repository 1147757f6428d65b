// A live seat map read the way a fan's screen reads it: one long GET of
// .../seats/stream on its own connection, as Server-Sent Events.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "tools/loadgen/http_client.hpp"

namespace boxoffice::loadgen {

/// Parses a raw HTTP response carrying Server-Sent Events: the head first
/// (status line and headers), then events of `event:` and `data:` lines, each
/// ended by a blank line. Comments (`:` lines) and `id:` are skipped.
class SseReader {
public:
  using Handler = std::function<void(std::string_view type, std::string_view data)>;

  explicit SseReader(Handler on_event) : on_event_(std::move(on_event)) {}

  /// Takes the next bytes off the socket. False once the head says anything
  /// but 200 (status() tells which).
  bool feed(std::string_view bytes);
  /// 0 until the head has been read.
  int status() const { return status_; }

private:
  bool read_head();
  void line(std::string_view text);

  Handler on_event_;
  std::string buffer_;
  bool head_done_ = false;
  int status_ = 0;
  std::string type_;
  std::string data_;
};

/// One open stream. Callbacks run on the io_context's thread; `on_end` comes
/// once, with why it ended ("" after close()).
class SeatStream : public std::enable_shared_from_this<SeatStream> {
public:
  SeatStream(boost::asio::io_context& ioc, Url url, std::string target, std::string token,
             SseReader::Handler on_event, std::function<void(const std::string&)> on_end);
  ~SeatStream();

  void open();
  void close();

private:
  struct io;
  void read();
  void end(const std::string& why);

  std::unique_ptr<io> io_;
  Url url_;
  std::string request_;
  SseReader reader_;
  std::function<void(const std::string&)> on_end_;
  bool closed_ = false;
};

} // namespace boxoffice::loadgen
