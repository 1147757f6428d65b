#include "actors/one_commit_payment.hpp"

#include "actors/active_tokens.hpp"
#include "actors/db_call.hpp"
#include "actors/log_failure.hpp"
#include "actors/schedule_directory.hpp"
#include "storage/payment_commit.hpp"
#include "util/clock.hpp"

namespace boxoffice {

namespace {

using manager_ptr = saga_manager_actor::stateful_pointer<saga_manager_state>;

// One payment on its way through the one transaction.
struct attempt {
  manager_ptr self;
  payment_request req;
  std::string hash;
  caf::typed_response_promise<api_answer> rp;
  std::function<void()> saga_path;
  reservation_actor reservation;
  reservation_view view;
  schedule_directory::entry schedule;
};

using attempt_ptr = std::shared_ptr<attempt>;

// How often an unknown outcome is asked about before the payment gives up.
constexpr int settle_attempts = 3;

// The reservation is free for the next payment or cancellation.
void release(const attempt_ptr& a) {
  auto& st = a->self->state;
  st.busy.erase(a->req.reservation_id);
  st.in_one_commit.erase(a->req.reservation_id);
}

// Nothing was written: the saga path takes the request over (it answers every
// refusal as before: wrong state, too few points, a known key, ...).
void hand_to_saga(const attempt_ptr& a) {
  release(a);
  a->saga_path();
}

// PAYING in memory back to HELD, then the saga path (which asks the
// reservation again: the unlock must have arrived first).
void unlock_then_saga(const attempt_ptr& a) {
  a->self->request(a->reservation, saga_step_timeout, unpay_atom_v)
    .then([a](reservation_view) { hand_to_saga(a); }, [a](caf::error&) { hand_to_saga(a); });
}

void paid(const attempt_ptr& a, const payment_view& payment, int64_t saga_id) {
  auto self = a->self;
  self->send(a->reservation, paid_atom_v, saga_id);
  auto seat = a->view.seat_number;
  auto id = a->view.id;
  self->request(a->schedule.actor, saga_step_timeout, sell_atom_v, seat, id)
    .then([](caf::ok_atom) {},
          log_failure("payment of reservation " + std::to_string(id) + ": selling its seat"));
  release(a);
  auto& st = self->state;
  st.completed++;
  st.one_commit++;
  // The payment completes the fan's visit: their token expires.
  self->send(st.waiting_room, leave_atom_v, a->req.user_id);
  a->rp.deliver(st.ctx.payment_answer(payment));
}

// The transaction's outcome is unknown (a lost connection, a timeout): the
// database decides. Still unknown after a few tries: the reservation is
// unlocked (its expiry re-reads the row, so memory heals either way) and the
// client gets the error.
void settle(const attempt_ptr& a, caf::error why, int tries_left) {
  auto v = a->view;
  db_then(
    a->self, a->self->state.ctx.db,
    [v](storage::pg_connection& c) { return storage::committed_payment(c, v.id, v.user_id); },
    [a](std::optional<storage::paid_booking> done) {
      if (done)
        return paid(a, done->payment, done->saga_id);
      unlock_then_saga(a);
    },
    [a, why, tries_left](caf::error& err) {
      if (tries_left > 1)
        return settle(a, why, tries_left - 1);
      log_failure_of("payment of reservation " + std::to_string(a->view.id) +
                       ": outcome unknown, answered with an error",
                     err);
      auto& st = a->self->state;
      a->self->request(a->reservation, saga_step_timeout, unpay_atom_v)
        .then([](reservation_view) {},
              log_failure("reservation " + std::to_string(a->view.id) + ": unlocking"));
      release(a);
      st.failed++;
      a->rp.deliver(why);
    });
}

void run_transaction(const attempt_ptr& a, wallet_actor wallet) {
  booking_payment booking{a->view, a->schedule.board->facts(), a->req.idempotency_key, a->hash};
  a->self->request(wallet, saga_step_timeout, pay_atom_v, booking)
    .then([a](payment_view payment, int64_t saga_id) { paid(a, payment, saga_id); },
          [a](caf::error& err) {
            if (is(err, booking_errc::wrong_state))
              return unlock_then_saga(a);
            settle(a, err, settle_attempts);
          });
}

void lock_reservation(const attempt_ptr& a) {
  a->self->request(a->reservation, saga_step_timeout, pay_atom_v)
    .then(
      [a](reservation_view view) {
        a->view = view;
        auto schedule = a->self->state.ctx.schedules->find(view.schedule_id);
        if (view.user_id != a->req.user_id || !schedule)
          return unlock_then_saga(a);
        a->schedule = *schedule;
        a->self
          ->request(a->self->state.ctx.wallets, saga_step_timeout, caf::get_atom_v, view.user_id)
          .then([a](wallet_actor w) { run_transaction(a, w); },
                [a](caf::error&) { unlock_then_saga(a); });
      },
      [a](caf::error&) { hand_to_saga(a); });
}

} // namespace

caf::error concurrent_with_one_commit(manager_ptr self, const payment_request& req) {
  auto i = self->state.in_one_commit.find(req.reservation_id);
  if (i == self->state.in_one_commit.end() || i->second.first != req.user_id)
    return {};
  // Only a request that proves its user learns this; others take the usual
  // checks (401/403/404).
  auto& passes = self->state.ctx.passes;
  if (!passes || !passes->admits(req.token, req.user_id, now_ms()))
    return {};
  if (!req.idempotency_key.empty() && req.idempotency_key == i->second.second)
    return make_error(booking_errc::idempotency_in_flight,
                      "a request with this Idempotency-Key is in progress");
  return make_error(booking_errc::wrong_state,
                    "a payment or cancellation of this reservation is in progress");
}

bool one_commit_possible(manager_ptr self, const payment_request& req) {
  auto& ctx = self->state.ctx;
  return ctx.passes && ctx.schedules && !self->state.busy.count(req.reservation_id) &&
         ctx.passes->admits(req.token, req.user_id, now_ms());
}

void pay_in_one_commit(manager_ptr self, payment_request req, std::string hash,
                       caf::typed_response_promise<api_answer> rp,
                       std::function<void()> saga_path) {
  auto a = std::make_shared<attempt>();
  a->self = self;
  a->req = std::move(req);
  a->hash = std::move(hash);
  a->rp = std::move(rp);
  a->saga_path = std::move(saga_path);
  self->state.busy[a->req.reservation_id] = caf::actor{};
  self->state.in_one_commit[a->req.reservation_id] = {a->req.user_id, a->req.idempotency_key};
  self
    ->request(self->state.ctx.reservations, saga_step_timeout, caf::get_atom_v,
              a->req.reservation_id)
    .then(
      [a](reservation_actor r) {
        a->reservation = r;
        lock_reservation(a);
      },
      [a](caf::error&) { hand_to_saga(a); });
}

} // namespace boxoffice
