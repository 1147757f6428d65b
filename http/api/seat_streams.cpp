#include "http/api/seat_streams.hpp"

#include <algorithm>
#include <charconv>

#include "http/error_model.hpp"
#include "http/router.hpp"

namespace boxoffice::http {

namespace {

const auto blank_line = std::make_shared<const std::string>("\n\n");
const auto keep_alive_comment = std::make_shared<const std::string>(": keep-alive\n\n");

void append_id(std::string& out, std::string_view boot, uint64_t version) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, version, 16);
  out.append(boot).push_back('.');
  out.append(buf, r.ptr);
}

} // namespace

std::string_view stream_token(const api_request& req) {
  return req.token.empty() ? query_param(req.query, "token") : std::string_view{req.token};
}

std::string event_id(std::string_view boot, uint64_t version) {
  std::string out;
  append_id(out, boot, version);
  return out;
}

std::optional<uint64_t> parse_event_id(std::string_view text, std::string_view boot) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || text.substr(0, dot) != boot)
    return std::nullopt;
  auto hex = text.substr(dot + 1);
  uint64_t v = 0;
  auto r = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
  if (hex.empty() || r.ec != std::errc{} || r.ptr != hex.data() + hex.size())
    return std::nullopt;
  return v;
}

void append_seat_event(std::string& out, const seat_board& board, const seat_board::change& c,
                       std::string_view boot) {
  char buf[16];
  auto r = std::to_chars(buf, buf + sizeof buf, board.number(c.position));
  out += "event: seat\nid: ";
  append_id(out, boot, c.version);
  out += "\ndata: {\"seatNumber\":";
  out.append(buf, r.ptr);
  out += ",\"status\":\"";
  out += state_texts<seat_status>::texts[static_cast<size_t>(c.status)];
  out += "\"}\n\n";
}

std::string snapshot_head(std::string_view boot, uint64_t version) {
  std::string out = "event: snapshot\nid: ";
  append_id(out, boot, version);
  out += "\ndata: ";
  return out;
}

// One open stream: holds its place among max_streams for as long as the
// connection keeps it, and sends the stream's first events on attach.
class seat_streams::subscription : public stream_source {
public:
  subscription(std::shared_ptr<seat_streams> owner, seat_board_ptr board, seat_map_format format,
               std::optional<uint64_t> resume_after)
      : owner_(std::move(owner)), board_(std::move(board)), format_(format),
        resume_after_(resume_after) {}
  ~subscription() override { owner_->open_--; }

  void attach(const std::shared_ptr<stream_sink>& sink) override {
    subscriber sub{sink, format_, resume_after_.value_or(0)};
    if (resume_after_)
      owner_->catch_up(*board_, sub, *sink);
    else
      owner_->send_snapshot(*board_, sub, *sink);
    owner_->subscribe(board_, std::move(sub));
  }

private:
  std::shared_ptr<seat_streams> owner_;
  seat_board_ptr board_;
  seat_map_format format_;
  std::optional<uint64_t> resume_after_;
};

seat_streams::seat_streams(std::shared_ptr<seat_map_cache> maps,
                           std::shared_ptr<const schedule_directory> schedules, std::string boot,
                           size_t max_streams)
    : maps_(std::move(maps)), schedules_(std::move(schedules)), boot_(std::move(boot)),
      max_streams_(max_streams) {}

api_response seat_streams::open(const seat_board_ptr& board, seat_map_format format,
                                std::string_view last_event_id) {
  if (open_.fetch_add(1) >= max_streams_) {
    open_--;
    auto r = error_response(503, "TOO_MANY_STREAMS",
                            "too many live seat maps are open; poll the seat map or retry later");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  api_response r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-cache");
  // nginx would otherwise buffer the stream.
  r.headers.emplace_back("X-Accel-Buffering", "no");
  r.stream = std::make_shared<subscription>(shared_from_this(), board, format,
                                            parse_event_id(last_event_id, boot_));
  return r;
}

void seat_streams::subscribe(const seat_board_ptr& board, subscriber sub) {
  std::lock_guard lock{mutex_};
  auto [i, made] = channels_.try_emplace(board->schedule_id());
  auto& ch = i->second;
  if (made) {
    ch.board = board;
    ch.last = board->version();
  }
  // Events between its first ones and the channel's position are caught up
  // now, so from the next tick on it shares the channel's events.
  if (auto sink = sub.sink.lock(); sink && sub.position < ch.last)
    catch_up(*ch.board, sub, *sink);
  ch.subscribers.push_back(std::move(sub));
}

void seat_streams::tick() {
  std::lock_guard lock{mutex_};
  for (auto i = channels_.begin(); i != channels_.end();) {
    auto& subs = i->second.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [](const subscriber& s) { return s.sink.expired(); }),
               subs.end());
    if (subs.empty()) {
      i = channels_.erase(i);
      continue;
    }
    follow_reload(i->second);
    push_changes(i->second);
    ++i;
  }
}

void seat_streams::keep_alive() {
  std::lock_guard lock{mutex_};
  for (auto& [id, ch] : channels_)
    for (auto& sub : ch.subscribers)
      if (auto sink = sub.sink.lock())
        sink->send(keep_alive_comment);
}

// A schedule loaded again has a new board: its streams move over to it (they
// get its snapshot, since their versions name the old board).
void seat_streams::follow_reload(channel& ch) {
  if (!schedules_)
    return;
  auto e = schedules_->find(ch.board->schedule_id());
  if (!e || e->board == ch.board)
    return;
  ch.board = e->board;
  ch.last = 0;
}

void seat_streams::push_changes(channel& ch) {
  std::vector<seat_board::change> changes;
  bool logged = ch.board->changes_after(ch.last, changes);
  if (logged && changes.empty())
    return;
  auto current = logged ? changes.back().version : ch.board->version();
  std::shared_ptr<const std::string> batch;
  if (logged) {
    auto text = std::make_shared<std::string>();
    for (auto& c : changes)
      append_seat_event(*text, *ch.board, c, boot_);
    batch = std::move(text);
  }
  for (auto& sub : ch.subscribers) {
    auto sink = sub.sink.lock();
    if (!sink || sub.position >= current)
      continue;
    if (logged && sub.position == ch.last) {
      sink->send(batch);
      sub.position = current;
    } else {
      catch_up(*ch.board, sub, *sink);
    }
  }
  ch.last = current;
}

void seat_streams::catch_up(const seat_board& board, subscriber& sub, stream_sink& sink) {
  std::vector<seat_board::change> changes;
  if (!board.changes_after(sub.position, changes))
    return send_snapshot(board, sub, sink);
  if (changes.empty())
    return;
  auto text = std::make_shared<std::string>();
  for (auto& c : changes)
    append_seat_event(*text, board, c, boot_);
  sink.send(std::move(text));
  sub.position = changes.back().version;
}

void seat_streams::send_snapshot(const seat_board& board, subscriber& sub, stream_sink& sink) {
  auto map = maps_->get(board, sub.format);
  sink.send(std::make_shared<const std::string>(snapshot_head(boot_, map->version)));
  sink.send(map->body, true);
  sink.send(blank_line);
  sub.position = map->version;
}

} // namespace boxoffice::http
