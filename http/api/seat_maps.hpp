#pragma once
// Seat maps as the API serves them: rendered from a schedule's seat board once
// per version, and at most once per refresh interval while seats keep
// changing, then shared by every reader (and handed to the socket without a
// copy) until the next rendering. The ETag names the version, so a client
// that has it gets 304.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/api.hpp"
#include "messages/seat_board.hpp"

namespace boxoffice::http {

enum class seat_map_format : uint8_t { full, compact };

struct seat_map_text {
  uint64_t version = 0;
  std::string etag; // with its quotes
  std::shared_ptr<const std::string> body;
};

// `?format=compact` or no format; nothing for anything else.
std::optional<seat_map_format> seat_map_format_of(std::string_view query);

// The board at its current version. `boot` tells this run of the server from
// earlier ones in the ETag.
seat_map_text render_seat_map(const seat_board& board, seat_map_format format,
                              std::string_view boot);

// True when an If-None-Match value ("a", W/"b", or *) names `etag`.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// 304 when If-None-Match names this version, else 200 with the shared body.
api_response seat_map_response(const seat_map_text& text, std::string_view if_none_match);

class seat_map_cache {
public:
  seat_map_cache(std::chrono::milliseconds refresh, std::string boot);

  // The latest rendering; re-rendered when the board moved on, unless the last
  // rendering of this board is younger than the refresh interval (then it
  // is served as it is: at most that old).
  std::shared_ptr<const seat_map_text> get(const seat_board& board, seat_map_format format);

  // How many renderings were made (for /metrics and tests).
  uint64_t renderings() const;

private:
  struct slot {
    std::mutex mutex;
    std::shared_ptr<const seat_map_text> latest;
    std::chrono::steady_clock::time_point rendered_at{};
  };
  slot& slot_of(int64_t schedule_id, seat_map_format format);

  std::chrono::milliseconds refresh_;
  std::string boot_;
  mutable std::mutex mutex_;
  std::unordered_map<int64_t, std::unique_ptr<slot>> slots_[2];
  uint64_t renderings_ = 0; // under mutex_
};

} // namespace boxoffice::http
