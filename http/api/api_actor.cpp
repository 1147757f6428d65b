#include "http/api/api_actor.hpp"

#include "http/api/front_door.hpp"
#include "http/api/routes.hpp"

namespace boxoffice::http {

namespace {

handler handler_for(route_id id) {
  switch (id) {
    case route_id::health:
      return handle_health;
    case route_id::ready:
      return handle_ready;
    case route_id::concerts:
      return handle_concerts;
    case route_id::schedules:
      return handle_schedules;
    case route_id::seats:
      return handle_seats;
    case route_id::seat_stream:
      return handle_seat_stream;
    case route_id::queue_token:
      return handle_queue_token;
    case route_id::queue_status:
      return handle_queue_status;
    case route_id::reservations:
      return handle_hold;
    case route_id::reservation:
      return handle_reservation;
    case route_id::payments:
      return handle_payment;
    case route_id::points_charge:
      return handle_charge;
    case route_id::points:
      return handle_points;
    case route_id::points_history:
      return handle_points_history;
  }
  return nullptr;
}

// Counts the answer under its route, with the time it took.
void measure(api_ptr self, const api_exchange_ptr& ex, std::string label) {
  auto metrics = self->state.services.metrics;
  if (!metrics)
    return;
  auto started = std::chrono::steady_clock::now();
  ex->respond = [metrics, started, label = std::move(label),
                 respond = std::move(ex->respond)](api_response r) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    metrics->observe(label, r.status, took.count());
    respond(std::move(r));
  };
}

void dispatch(api_ptr self, const api_exchange_ptr& ex) {
  auto m = match_route(ex->request.method, ex->request.path);
  measure(self, ex,
          m.outcome == route_match::found || m.outcome == route_match::bad_id
            ? route_label(ex->request.method, m.id)
            : "unmatched");
  switch (m.outcome) {
    case route_match::not_found:
      // Never echo the path: client bytes stay out of answers.
      ex->respond(error_response(404, "NOT_FOUND", "no such resource"));
      return;
    case route_match::bad_method: {
      auto r = error_response(405, "METHOD_NOT_ALLOWED",
                              ex->request.method + " is not allowed here; use " + m.allow);
      r.headers.emplace_back("Allow", m.allow);
      ex->respond(std::move(r));
      return;
    }
    case route_match::bad_id:
      ex->respond(error_response(400, "INVALID_ARGUMENT",
                                 "path id '" + m.bad_id_name + "' must be a positive integer"));
      return;
    case route_match::found:
      break;
  }
  if (forward_if_foreign(self, m, ex))
    return;
  if (auto h = handler_for(m.id))
    h(self, m, ex);
  else
    ex->respond(error_response(404, "NOT_FOUND", "no such resource"));
}

} // namespace

api_actor::behavior_type api_actor_impl(api_ptr self, api_services services) {
  self->state.services = std::move(services);
  install_exception_handler(self, "api", &self->state.guard);
  return {
    [=](const api_exchange_ptr& ex) {
      dispatch_guarded("api", self->state.guard, ex, [&] { dispatch(self, ex); });
    },
  };
}

} // namespace boxoffice::http
