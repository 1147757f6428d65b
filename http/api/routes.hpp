#pragma once
// Handlers, one per route, grouped by area in routes_*.cpp.

#include <caf/error.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "http/api/api_actor.hpp"
#include "http/error_model.hpp"
#include "http/router.hpp"

namespace boxoffice::http {

using handler = void (*)(api_ptr, const route_match&, const api_exchange_ptr&);

void handle_health(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_ready(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_concerts(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_schedules(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_seats(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_seat_stream(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_queue_token(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_queue_status(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_hold(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_reservation(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_payment(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_charge(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_points(api_ptr, const route_match&, const api_exchange_ptr&);
void handle_points_history(api_ptr, const route_match&, const api_exchange_ptr&);

constexpr auto ask_timeout = std::chrono::seconds(30);

// Continues with `next` once the request's queue token is active for `user_id`
// (0: any user); otherwise answers 401/403.
void with_active_token(api_ptr self, const api_exchange_ptr& ex, int64_t user_id,
                       std::function<void()> next);

// A reservation of this user (others' look like missing ones), or an error sent.
void with_own_reservation(api_ptr self, const api_exchange_ptr& ex, int64_t reservation_id,
                          int64_t user_id,
                          std::function<void(reservation_actor, reservation_view)> next);

// The schedule's actor and board, from the directory once loaded, else from
// the catalogue (which loads it); concert_id 0: whichever concert it has.
void with_schedule(api_ptr self, const api_exchange_ptr& ex, int64_t concert_id,
                   int64_t schedule_id, std::function<void(schedule_actor, seat_board_ptr)> next);

nlohmann::json to_json(const reservation_view& r);

// The request body as a JSON object, or a 400 already sent.
std::optional<nlohmann::json> json_body(const api_exchange_ptr& ex);

// A positive integer id field, or a 400 naming the field already sent.
std::optional<int64_t> id_field(const nlohmann::json& body, const char* field,
                                const api_exchange_ptr& ex);

// True when the request may act for `user_id` now (auth.mode, limits.*);
// otherwise its 401, 403 or 429 is sent.
bool may_act_for(api_ptr self, const api_exchange_ptr& ex, int64_t user_id, user_action action);

// A JSON body that names its user: most writes start with it.
struct user_body {
  nlohmann::json body;
  int64_t user_id = 0;
};

// The body and its positive integer userId, or a 400 already sent.
std::optional<user_body> user_body_of(const api_exchange_ptr& ex);

// The userId query parameter, or a 400 already sent.
std::optional<int64_t> user_query(const api_exchange_ptr& ex);

} // namespace boxoffice::http
