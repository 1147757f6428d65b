#include "http/api/seat_maps.hpp"

#include <charconv>

#include "http/router.hpp"

namespace boxoffice::http {

namespace {

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_version(std::string& out, std::string_view boot, uint64_t version) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, version, 16);
  out.append(boot).push_back('.');
  out.append(buf, r.ptr);
}

// {"scheduleId":1,"seats":[{"seatNumber":1,"price":100,"status":"AVAILABLE"},...]}
void render_full(std::string& out, const seat_board& board) {
  out.reserve(48 + board.size() * 56);
  out += R"({"scheduleId":)";
  append_int(out, board.schedule_id());
  out += R"(,"seats":[)";
  for (size_t i = 0; i < board.size(); ++i) {
    out += i == 0 ? R"({"seatNumber":)" : R"(,{"seatNumber":)";
    append_int(out, board.number(i));
    out += R"(,"price":)";
    append_int(out, board.price(i));
    out += R"(,"status":")";
    out += state_texts<seat_status>::texts[static_cast<size_t>(board.status(i))];
    out += R"("})";
  }
  out += "]}";
}

char status_letter(seat_status s) {
  switch (s) {
    case seat_status::available:
      return 'A';
    case seat_status::sold:
      return 'S';
    default:
      return 'H';
  }
}

// {"scheduleId":1,"version":"…","seats":[[first,last,price],...],"status":"AAHS…"}: runs of
// consecutive seat numbers at one price, then one letter a seat in number order.
void render_compact(std::string& out, const seat_board& board, std::string_view version) {
  out.reserve(96 + board.size() * 2);
  out += R"({"scheduleId":)";
  append_int(out, board.schedule_id());
  out += R"(,"version":")";
  out += version;
  out += R"(","seats":[)";
  for (size_t i = 0; i < board.size();) {
    size_t j = i + 1;
    while (j < board.size() && board.number(j) == board.number(j - 1) + 1 &&
           board.price(j) == board.price(i))
      ++j;
    out += i == 0 ? "[" : ",[";
    append_int(out, board.number(i));
    out += ',';
    append_int(out, board.number(j - 1));
    out += ',';
    append_int(out, board.price(i));
    out += ']';
    i = j;
  }
  out += R"(],"status":")";
  for (size_t i = 0; i < board.size(); ++i)
    out += status_letter(board.status(i));
  out += R"("})";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

std::optional<seat_map_format> seat_map_format_of(std::string_view query) {
  // A format we do not have is refused rather than answered in another.
  auto format = query_param(query, "format");
  if (format.empty() || format == "full")
    return seat_map_format::full;
  if (format == "compact")
    return seat_map_format::compact;
  return std::nullopt;
}

seat_map_text render_seat_map(const seat_board& board, seat_map_format format,
                              std::string_view boot) {
  seat_map_text out;
  // Read the version first: the statuses read after it are at least as new.
  out.version = board.version();
  std::string version;
  append_version(version, boot, out.version);
  out.etag = '"' + version + (format == seat_map_format::compact ? ".c\"" : "\"");
  auto body = std::make_shared<std::string>();
  if (format == seat_map_format::compact)
    render_compact(*body, board, version);
  else
    render_full(*body, board);
  out.body = std::move(body);
  return out;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if_none_match =
      comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
    if (tag.substr(0, 2) == "W/")
      tag.remove_prefix(2); // If-None-Match compares weakly (RFC 9110 13.1.2)
    if (tag == "*" || tag == etag)
      return true;
  }
  return false;
}

api_response seat_map_response(const seat_map_text& text, std::string_view if_none_match) {
  api_response r;
  r.headers.emplace_back("ETag", text.etag);
  // Caches may keep it but must ask again each time: seats change.
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (!if_none_match.empty() && etag_matches(if_none_match, text.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.shared_body = text.body;
  return r;
}

seat_map_cache::seat_map_cache(std::chrono::milliseconds refresh, std::string boot)
    : refresh_(refresh), boot_(std::move(boot)) {}

seat_map_cache::slot& seat_map_cache::slot_of(int64_t schedule_id, seat_map_format format) {
  std::lock_guard lock{mutex_};
  auto& s = slots_[static_cast<size_t>(format)][schedule_id];
  if (!s)
    s = std::make_unique<slot>();
  return *s;
}

std::shared_ptr<const seat_map_text> seat_map_cache::get(const seat_board& board,
                                                         seat_map_format format) {
  auto& s = slot_of(board.schedule_id(), format);
  std::lock_guard lock{s.mutex};
  auto now = std::chrono::steady_clock::now();
  auto current = board.version();
  if (s.latest) {
    if (s.latest->version == current)
      return s.latest;
    bool same_board = s.latest->version >> 32 == current >> 32;
    if (same_board && now - s.rendered_at < refresh_)
      return s.latest;
  }
  s.latest = std::make_shared<const seat_map_text>(render_seat_map(board, format, boot_));
  s.rendered_at = now;
  std::lock_guard count{mutex_};
  renderings_++;
  return s.latest;
}

uint64_t seat_map_cache::renderings() const {
  std::lock_guard lock{mutex_};
  return renderings_;
}

} // namespace boxoffice::http
