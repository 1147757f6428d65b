// The booking funnel: queue tokens, holds, reservations and payments.
#include "http/api/routes.hpp"

#include <openssl/sha.h>

#include "actors/ask_reservation.hpp"
#include "http/api/payment_answer.hpp"
#include "util/clock.hpp"
#include "util/hex.hpp"
#include "util/iso_time.hpp"

namespace boxoffice::http {

namespace {

nlohmann::json to_json(const queue_ticket& t) {
  nlohmann::json j{
    {"token", t.token},       {"userId", t.user_id},         {"status", to_string(t.status)},
    {"position", t.position}, {"etaSeconds", t.eta_seconds}, {"pollAfterMs", t.poll_after_ms}};
  j["activeUntil"] =
    t.active_until_ms ? nlohmann::json(iso_millis(t.active_until_ms)) : nlohmann::json(nullptr);
  return j;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return to_hex(digest, sizeof digest);
}

bool valid_idempotency_key(const std::string& key) {
  if (key.size() > 255)
    return false;
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

std::optional<int32_t> seat_field(const nlohmann::json& body, const api_exchange_ptr& ex) {
  auto i = body.find("seatNumber");
  if (i != body.end() && i->is_number_integer() && !i->is_number_float()) {
    auto v = i->get<int64_t>();
    if (v > 0 && v <= max_seat_number)
      return static_cast<int32_t>(v);
  }
  ex->respond(
    error_response(400, "INVALID_ARGUMENT", "field 'seatNumber' must be a positive integer"));
  return std::nullopt;
}

// Finds the user's wallet actor, then continues; errors answer the request.
void with_wallet(api_ptr self, const api_exchange_ptr& ex, int64_t user,
                 std::function<void(wallet_actor)> next) {
  self->request(self->state.services.wallets, ask_timeout, caf::get_atom_v, user)
    .then([next](wallet_actor w) { next(w); }, fail_with(ex));
}

// Answers {userId, balance}.
auto balance_answer(const api_exchange_ptr& ex, int64_t user) {
  return [ex, user](int64_t balance) {
    ex->respond(
      json_response(200, render_json(nlohmann::json{{"userId", user}, {"balance", balance}})));
  };
}

} // namespace

api_answer payment_answer(const payment_view& p) {
  nlohmann::json j{{"paymentId", p.id},   {"reservationId", p.reservation_id},
                   {"userId", p.user_id}, {"amount", p.amount},
                   {"status", p.status},  {"paidAt", iso_millis(p.paid_at_ms)}};
  return {201, render_json(j)};
}

nlohmann::json to_json(const reservation_view& r) {
  return {{"reservationId", r.id},
          {"userId", r.user_id},
          {"scheduleId", r.schedule_id},
          {"seatNumber", r.seat_number},
          {"price", r.price},
          {"status", to_string(r.status)},
          {"expiresAt", iso_millis(r.expires_at_ms)}};
}

void with_active_token(api_ptr self, const api_exchange_ptr& ex, int64_t user_id,
                       std::function<void()> next) {
  if (ex->request.token.empty())
    return ex->respond(error_response(401, "TOKEN_INVALID", "header X-Queue-Token is required"));
  // An active token is decided here; the waiting room says why any other is refused.
  auto& passes = self->state.services.passes;
  if (passes && passes->admits(ex->request.token, user_id, now_ms()))
    return next();
  self
    ->request(self->state.services.waiting_room, ask_timeout, check_atom_v, ex->request.token,
              user_id)
    .then([next](caf::ok_atom) { next(); }, fail_with(ex));
}

void with_own_reservation(api_ptr self, const api_exchange_ptr& ex, int64_t reservation_id,
                          int64_t user_id,
                          std::function<void(reservation_actor, reservation_view)> next) {
  ask_reservation(
    self, self->state.services.reservations, reservation_id, ask_timeout,
    [ex, user_id, next](reservation_actor r, reservation_view view) {
      if (view.user_id != user_id)
        return ex->respond(error_response(404, "NOT_FOUND", "reservation not found"));
      next(r, view);
    },
    fail_with(ex));
}

void handle_queue_token(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  auto in = user_body_of(ex);
  if (!in || !may_act_for(self, ex, in->user_id, user_action::queue_token))
    return;
  self->request(self->state.services.waiting_room, ask_timeout, token_atom_v, in->user_id)
    .then([ex](queue_ticket t) { ex->respond(json_response(201, render_json(to_json(t)))); },
          fail_with(ex));
}

void handle_queue_status(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  if (ex->request.token.empty())
    return ex->respond(error_response(401, "TOKEN_INVALID", "header X-Queue-Token is required"));
  self->request(self->state.services.waiting_room, ask_timeout, poll_atom_v, ex->request.token)
    .then([ex](queue_ticket t) { ex->respond(json_response(200, render_json(to_json(t)))); },
          fail_with(ex));
}

void handle_hold(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  auto in = user_body_of(ex);
  if (!in || !may_act_for(self, ex, in->user_id, user_action::hold))
    return;
  auto schedule = id_field(in->body, "scheduleId", ex);
  if (!schedule)
    return;
  auto seat = seat_field(in->body, ex);
  if (!seat)
    return;
  hold_request req{in->user_id, *schedule, *seat};
  with_active_token(self, ex, in->user_id, [self, ex, req] {
    with_schedule(self, ex, 0, req.schedule_id, [self, ex, req](schedule_actor s, seat_board_ptr) {
      self->request(s, ask_timeout, hold_atom_v, req)
        .then(
          [ex](reservation_view r) { ex->respond(json_response(201, render_json(to_json(r)))); },
          fail_with(ex));
    });
  });
}

void handle_reservation(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto user = user_query(ex);
  if (!user || !may_act_for(self, ex, *user, user_action::read))
    return;
  auto id = m.ids[0];
  if (ex->request.method == "GET")
    return with_own_reservation(self, ex, id, *user, [ex](reservation_actor, reservation_view v) {
      ex->respond(json_response(200, render_json(to_json(v))));
    });
  with_active_token(self, ex, *user, [self, ex, id, user] {
    with_own_reservation(self, ex, id, *user, [self, ex](reservation_actor r, reservation_view v) {
      auto done = [ex](reservation_view v) {
        ex->respond(json_response(200, render_json(to_json(v))));
      };
      if (v.status == reservation_status::confirmed)
        self->request(self->state.services.sagas, ask_timeout * 4, cancel_atom_v, v)
          .then(done, fail_with(ex));
      else
        self->request(r, ask_timeout, cancel_atom_v).then(done, fail_with(ex));
    });
  });
}

void handle_payment(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  auto in = user_body_of(ex);
  if (!in || !may_act_for(self, ex, in->user_id, user_action::payment))
    return;
  auto reservation = id_field(in->body, "reservationId", ex);
  if (!reservation)
    return;
  auto& key = ex->request.idempotency_key;
  if (!valid_idempotency_key(key))
    return ex->respond(error_response(400, "INVALID_ARGUMENT",
                                      "header Idempotency-Key must be 1-255 printable characters"));
  // Also a replay of a stored answer needs a token of this user (in any
  // state: the payment expired it); the saga manager checks whose it is.
  if (ex->request.token.empty())
    return ex->respond(error_response(401, "TOKEN_INVALID", "header X-Queue-Token is required"));
  payment_request req{in->user_id, *reservation, key, ex->request.token};
  // The same fields in any order or spacing are the same request.
  auto hash = sha256_hex(std::to_string(in->user_id) + "/" + std::to_string(*reservation));
  self->request(self->state.services.sagas, ask_timeout * 4, pay_atom_v, req, hash)
    .then([ex](api_answer a) { ex->respond(json_response(a.status, a.body)); }, fail_with(ex));
}

void handle_charge(api_ptr self, const route_match&, const api_exchange_ptr& ex) {
  auto in = user_body_of(ex);
  if (!in || !may_act_for(self, ex, in->user_id, user_action::charge))
    return;
  auto& svc = self->state.services;
  auto i = in->body.find("amount");
  if (i == in->body.end() || !i->is_number_integer() || i->get<int64_t>() < svc.min_charge ||
      (i->is_number_unsigned() && i->get<uint64_t>() > static_cast<uint64_t>(svc.max_charge)) ||
      i->get<int64_t>() > svc.max_charge)
    return ex->respond(error_response(400, "INVALID_ARGUMENT",
                                      "field 'amount' must be an integer from " +
                                        std::to_string(svc.min_charge) + " to " +
                                        std::to_string(svc.max_charge)));
  auto amount = i->get<int64_t>();
  with_wallet(self, ex, in->user_id, [self, ex, user = in->user_id, amount](wallet_actor w) {
    self->request(w, ask_timeout, charge_atom_v, amount)
      .then(balance_answer(ex, user), fail_with(ex));
  });
}

void handle_points(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto user = m.ids[0];
  if (!may_act_for(self, ex, user, user_action::read))
    return;
  with_wallet(self, ex, user, [self, ex, user](wallet_actor w) {
    self->request(w, ask_timeout, caf::get_atom_v).then(balance_answer(ex, user), fail_with(ex));
  });
}

void handle_points_history(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto user = m.ids[0];
  if (!may_act_for(self, ex, user, user_action::read))
    return;
  with_wallet(self, ex, user, [self, ex, user](wallet_actor w) {
    self->request(w, ask_timeout, history_atom_v)
      .then(
        [ex, user](ledger entries) {
          auto list = nlohmann::json::array();
          for (auto& e : entries)
            list.push_back({{"id", e.id},
                            {"kind", e.kind},
                            {"amount", e.amount},
                            {"balance", e.balance},
                            {"sagaId", e.saga_id ? nlohmann::json(e.saga_id) : nlohmann::json()},
                            {"createdAt", e.created_at}});
          nlohmann::json j{{"userId", user}, {"entries", list}};
          ex->respond(json_response(200, render_json(j)));
        },
        fail_with(ex));
  });
}

} // namespace boxoffice::http
