#include "http/api/direct_reads.hpp"

#include <chrono>

#include "http/router.hpp"
#include "util/clock.hpp"

namespace boxoffice::http {

bool answer_directly(const api_services& services, const api_exchange_ptr& ex) {
  auto& req = ex->request;
  if (req.method != "GET" || req.token.empty() || !services.schedules || !services.passes ||
      !services.seat_maps)
    return false;
  auto m = match_route(req.method, req.path);
  if (m.outcome != route_match::found || m.id != route_id::seats)
    return false;
  auto format = seat_map_format_of(req.query);
  if (!format || !services.passes->admits(req.token, 0, now_ms()))
    return false;
  auto entry = services.schedules->find(m.ids[1]);
  if (!entry || entry->board->concert_id() != m.ids[0])
    return false;
  auto started = std::chrono::steady_clock::now();
  auto resp =
    seat_map_response(*services.seat_maps->get(*entry->board, *format), req.if_none_match);
  if (services.metrics) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    services.metrics->observe(route_label(req.method, m.id), resp.status, took.count());
  }
  ex->respond(std::move(resp));
  return true;
}

} // namespace boxoffice::http
