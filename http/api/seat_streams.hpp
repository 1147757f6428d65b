#pragma once
// Live seat maps (Server-Sent Events). A stream opens with a `snapshot` event
// (the seat map, as the seat-map read renders it) or, when a reconnecting
// client's Last-Event-ID is still in the board's change log, with the changes
// after it; then one `seat` event per change. Every event's id names the board
// version after it ("<boot>.<hex version>", like the ETag), so ids from another
// run or another board are told apart and answered with a fresh snapshot.
//
// One ticker (the server's) pushes changes: per board with subscribers, the
// new changes are formatted once and the same bytes go to every subscriber
// that is up to date. Seat actors do no per-subscriber work.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/schedule_directory.hpp"
#include "http/api.hpp"
#include "http/api/seat_maps.hpp"
#include "messages/seat_board.hpp"

namespace boxoffice::http {

// How often changes are pushed, and how often an idle stream hears a comment
// (so proxies do not close it).
constexpr auto stream_tick_period = std::chrono::milliseconds(25);
constexpr auto stream_keep_alive_period = std::chrono::seconds(15);

// The queue token of a stream request: the X-Queue-Token header, else the
// `token` query parameter (EventSource in browsers cannot set headers).
std::string_view stream_token(const api_request& req);

// "<boot>.<hex version>".
std::string event_id(std::string_view boot, uint64_t version);
// The version a Last-Event-ID of this run names; nothing for another run's or garbage.
std::optional<uint64_t> parse_event_id(std::string_view text, std::string_view boot);
// "event: seat\nid: …\ndata: {"seatNumber":12,"status":"HELD"}\n\n"
void append_seat_event(std::string& out, const seat_board& board, const seat_board::change& c,
                       std::string_view boot);
// "event: snapshot\nid: …\ndata: ": the rendered map follows (one line), then "\n\n".
std::string snapshot_head(std::string_view boot, uint64_t version);

class seat_streams : public std::enable_shared_from_this<seat_streams> {
public:
  // `schedules` (may be null) lets streams follow a schedule to its new board
  // when it is loaded again.
  seat_streams(std::shared_ptr<seat_map_cache> maps,
               std::shared_ptr<const schedule_directory> schedules, std::string boot,
               size_t max_streams);

  // The answer that opens a stream on `board`: 200 with the stream attached,
  // or 503 when max_streams are open.
  api_response open(const seat_board_ptr& board, seat_map_format format,
                    std::string_view last_event_id);

  // Sends every subscriber what changed since its last event.
  void tick();
  // Sends every stream a comment line.
  void keep_alive();

  size_t open_streams() const { return open_.load(std::memory_order_relaxed); }

private:
  class subscription;
  struct subscriber {
    std::weak_ptr<stream_sink> sink;
    seat_map_format format;
    uint64_t position; // the version its last event left it at
  };
  struct channel {
    seat_board_ptr board;
    uint64_t last = 0; // the version every up-to-date subscriber is at
    std::vector<subscriber> subscribers;
  };

  void subscribe(const seat_board_ptr& board, subscriber sub);
  void follow_reload(channel& ch);
  void push_changes(channel& ch);
  void catch_up(const seat_board& board, subscriber& sub, stream_sink& sink);
  void send_snapshot(const seat_board& board, subscriber& sub, stream_sink& sink);

  std::shared_ptr<seat_map_cache> maps_;
  std::shared_ptr<const schedule_directory> schedules_;
  std::string boot_;
  size_t max_streams_;
  std::atomic<size_t> open_{0};
  std::mutex mutex_;
  std::map<int64_t, channel> channels_; // by schedule id, under mutex_
};

} // namespace boxoffice::http
