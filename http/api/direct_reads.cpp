#include "http/api/direct_reads.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "http/error_model.hpp"
#include "http/router.hpp"
#include "messages/errors.hpp"
#include "util/clock.hpp"

namespace boxoffice::http {

namespace {

// Counts the answer under its route, as the api actor does.
void answer(const api_services& services, const api_exchange_ptr& ex, const route_match& m,
            std::chrono::steady_clock::time_point started, api_response resp) {
  if (services.metrics) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    services.metrics->observe(route_label(ex->request.method, m.id), resp.status, took.count());
  }
  ex->respond(std::move(resp));
}

bool seat_map(const api_services& services, const api_exchange_ptr& ex, const route_match& m,
              std::chrono::steady_clock::time_point started) {
  auto& req = ex->request;
  auto format = seat_map_format_of(req.query);
  if (!format || !services.passes->admits(req.token, 0, now_ms()))
    return false;
  auto entry = services.schedules->find(m.ids[1]);
  if (!entry || entry->board->concert_id() != m.ids[0])
    return false;
  auto text = services.seat_maps->get(*entry->board, *format);
  answer(services, ex, m, started, seat_map_response(*text, req.if_none_match));
  return true;
}

// A positive integer field no larger than `limit`, or 0.
int64_t positive(const nlohmann::json& body, const char* field, int64_t limit) {
  auto i = body.find(field);
  if (i == body.end() || !i->is_number_integer())
    return 0;
  auto v = i->get<int64_t>();
  return v > 0 && v <= limit ? v : 0;
}

// A hold of a seat the board shows taken is refused here, as the schedule
// would refuse it; a hold of a free seat, and anything malformed, goes on.
bool taken_seat(const api_services& services, const api_exchange_ptr& ex, const route_match& m,
                std::chrono::steady_clock::time_point started) {
  auto& req = ex->request;
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object())
    return false;
  auto user = positive(body, "userId", max_id);
  auto schedule = positive(body, "scheduleId", max_id);
  auto seat = static_cast<int32_t>(positive(body, "seatNumber", max_seat_number));
  if (!user || !schedule || !seat || !services.passes->admits(req.token, user, now_ms()))
    return false;
  auto entry = services.schedules->find(schedule);
  if (!entry)
    return false;
  auto& board = *entry->board;
  auto pos = board.position(seat);
  if (pos == seat_board::npos || board.status(pos) == seat_status::available)
    return false;
  // A refusal from here costs the user's hold limit like any hold.
  if (services.access)
    if (auto refused = services.access->check_user(req, user, user_action::hold)) {
      answer(services, ex, m, started, std::move(*refused));
      return true;
    }
  board.note_refusal();
  auto err = make_error(booking_errc::seat_unavailable,
                        "seat " + std::to_string(seat) + " is not available");
  answer(services, ex, m, started, error_response(err));
  return true;
}

// A live seat map with an active token (header or query) on a loaded
// schedule opens here.
bool open_stream(const api_services& services, const api_exchange_ptr& ex, const route_match& m,
                 std::chrono::steady_clock::time_point started) {
  auto& req = ex->request;
  auto token = stream_token(req);
  auto format = seat_map_format_of(req.query);
  if (!services.streams || token.empty() || !format || !services.passes->admits(token, 0, now_ms()))
    return false;
  auto entry = services.schedules->find(m.ids[1]);
  if (!entry || entry->board->concert_id() != m.ids[0])
    return false;
  answer(services, ex, m, started,
         services.streams->open(entry->board, *format, req.last_event_id));
  return true;
}

// The routes that name no user: limited per client address instead.
bool names_no_user(route_id id) {
  switch (id) {
    case route_id::concerts:
    case route_id::schedules:
    case route_id::seats:
    case route_id::seat_stream:
    case route_id::queue_status:
      return true;
    default:
      return false;
  }
}

} // namespace

bool answer_directly(const api_services& services, const api_exchange_ptr& ex) {
  auto& req = ex->request;
  auto started = std::chrono::steady_clock::now();
  auto m = match_route(req.method, req.path);
  if (m.outcome != route_match::found)
    return false;
  if (services.access && names_no_user(m.id))
    if (auto refused = services.access->check_address(req)) {
      answer(services, ex, m, started, std::move(*refused));
      return true;
    }
  if (!services.schedules || !services.passes || !services.seat_maps)
    return false;
  if (m.id == route_id::seat_stream)
    return open_stream(services, ex, m, started);
  if (req.token.empty())
    return false;
  if (m.id == route_id::seats)
    return seat_map(services, ex, m, started);
  if (m.id == route_id::reservations)
    return taken_seat(services, ex, m, started);
  return false;
}

} // namespace boxoffice::http
