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

nlohmann::json to_json(const seat_info& s) {
  return {{"seatNumber", s.seat_number}, {"price", s.price}, {"status", to_string(s.status)}};
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

void handle_seats(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  with_active_token(self, ex, 0, [self, m, ex] {
    self->request(self->state.services.catalogue, ask_timeout, caf::get_atom_v, m.ids[0], m.ids[1])
      .then(
        [self, ex, schedule_id = m.ids[1]](schedule_actor& schedule) {
          self->request(schedule, ask_timeout, list_atom_v)
            .then(
              [ex, schedule_id](seat_list& xs) {
                nlohmann::json j{{"scheduleId", schedule_id}, {"seats", to_json_array(xs)}};
                ex->respond(json_response(200, render_json(j)));
              },
              fail_with(ex));
        },
        fail_with(ex));
  });
}

} // namespace boxoffice::http
