#include "http/api/routes.hpp"

#include "actors/db_call.hpp"
#include "actors/log_failure.hpp"
#include "storage/admin_queries.hpp"

namespace boxoffice::http {

namespace {

nlohmann::json to_json(const concert_info& c) {
  return {{"id", c.id}, {"title", c.title}, {"artist", c.artist}, {"venue", c.venue}};
}

nlohmann::json to_json(const schedule_info& s) {
  return {{"id", s.id},
          {"concertId", s.concert_id},
          {"startsAt", s.starts_at},
          {"totalSeats", s.total_seats},
          {"availableSeats", s.available_seats}};
}

template <class List> nlohmann::json to_json_array(const List& xs) {
  auto out = nlohmann::json::array();
  for (auto& x : xs)
    out.push_back(to_json(x));
  return out;
}

} // namespace

void handle_health(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  auto& restarts = self->state.services.bridge_restarts;
  nlohmann::json j{{"status", "UP"}, {"bridgeRestarts", restarts ? restarts->load() : 0}};
  ex->respond(json_response(200, render_json(j)));
}

void handle_ready(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  db_then(
    self, self->state.services.db,
    [](storage::pg_connection& c) { return storage::ready_probe(c); },
    [ex](bool) { ex->respond(json_response(200, R"({"status":"READY","database":"UP"})")); },
    [ex](caf::error& err) {
      log_failure_of("readiness probe", err);
      ex->respond(error_response(503, "NOT_READY", "the database does not answer"));
    });
}

void handle_concerts(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  self->request(self->state.services.catalogue, ask_timeout, list_atom_v)
    .then(
      [ex](concert_list& xs) {
        ex->respond(
          json_response(200, render_json(nlohmann::json{{"concerts", to_json_array(xs)}})));
      },
      fail_with(ex));
}

void handle_schedules(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  self->request(self->state.services.catalogue, ask_timeout, list_atom_v, m.ids[0])
    .then(
      [ex](schedule_list& xs) {
        ex->respond(
          json_response(200, render_json(nlohmann::json{{"schedules", to_json_array(xs)}})));
      },
      fail_with(ex));
}

void with_schedule(api_ptr self, const api_exchange_ptr& ex, int64_t concert_id,
                   int64_t schedule_id, std::function<void(schedule_actor, seat_board_ptr)> next) {
  if (auto& directory = self->state.services.schedules)
    if (auto e = directory->find(schedule_id);
        e && (concert_id == 0 || e->board->concert_id() == concert_id))
      return next(e->actor, e->board);
  auto loaded = [self, ex, next](schedule_actor& schedule) {
    self->request(schedule, ask_timeout, list_atom_v)
      .then([next, schedule](seat_board_ptr& board) { next(schedule, board); }, fail_with(ex));
  };
  auto& catalogue = self->state.services.catalogue;
  if (concert_id == 0)
    self->request(catalogue, ask_timeout, caf::get_atom_v, schedule_id).then(loaded, fail_with(ex));
  else
    self->request(catalogue, ask_timeout, caf::get_atom_v, concert_id, schedule_id)
      .then(loaded, fail_with(ex));
}

void handle_seats(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto format = seat_map_format_of(ex->request.query);
  if (!format)
    return ex->respond(
      error_response(400, "INVALID_ARGUMENT", "query parameter 'format' must be full or compact"));
  with_active_token(self, ex, 0, [self, m, ex, format] {
    with_schedule(
      self, ex, m.ids[0], m.ids[1], [self, ex, format](schedule_actor, seat_board_ptr board) {
        auto& cache = self->state.services.seat_maps;
        auto text = cache
                      ? cache->get(*board, *format)
                      : std::make_shared<const seat_map_text>(render_seat_map(*board, *format, ""));
        ex->respond(seat_map_response(*text, ex->request.if_none_match));
      });
  });
}

void handle_seat_stream(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto format = seat_map_format_of(ex->request.query);
  if (!format)
    return ex->respond(
      error_response(400, "INVALID_ARGUMENT", "query parameter 'format' must be full or compact"));
  if (!self->state.services.streams)
    return ex->respond(error_response(404, "NOT_FOUND", "no such resource"));
  ex->request.token = std::string{stream_token(ex->request)};
  with_active_token(self, ex, 0, [self, m, ex, format] {
    with_schedule(
      self, ex, m.ids[0], m.ids[1], [self, ex, format](schedule_actor, seat_board_ptr board) {
        ex->respond(self->state.services.streams->open(board, *format, ex->request.last_event_id));
      });
  });
}

} // namespace boxoffice::http
