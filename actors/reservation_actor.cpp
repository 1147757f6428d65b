#include "actors/reservation_actor.hpp"

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "actors/db_call.hpp"
#include "storage/booking_store.hpp"
#include "util/clock.hpp"

namespace boxoffice {

namespace {

using reservation_ptr = reservation_actor::stateful_pointer<reservation_state>;

// Through the actor's clock, so the test coordinator's clock moves it.
int64_t actor_now_ms(reservation_ptr self) {
  return epoch_ms_at(self->clock().now());
}

caf::error wrong_state(const reservation_view& v, const char* wanted) {
  return make_error(booking_errc::wrong_state, "reservation " + std::to_string(v.id) + " is " +
                                                 to_string(v.status) + ", not " + wanted);
}

// Arms the expiry timer from expires_at: the data, not the moment of loading.
void arm_expiry(reservation_ptr self) {
  auto& st = self->state;
  if (st.view.status != reservation_status::held)
    return;
  auto delay = std::max<int64_t>(0, st.view.expires_at_ms - actor_now_ms(self));
  self->delayed_send(self, std::chrono::milliseconds(delay), expire_atom_v, ++st.timer_generation);
}

// Tells the seat it is free again; the seat's release is idempotent.
void release_seat(reservation_ptr self) {
  auto& v = self->state.view;
  self->request(self->state.catalogue, std::chrono::seconds(10), caf::get_atom_v, v.schedule_id)
    .then(
      [self, seat = v.seat_number, id = v.id](schedule_actor& schedule) {
        self->request(schedule, std::chrono::seconds(10), release_atom_v, seat, id)
          .then([](caf::ok_atom) {},
                log_failure("reservation " + std::to_string(id) + ": releasing its seat"));
      },
      // The seat keeps the reservation's id and frees itself when next asked.
      log_failure("reservation " + std::to_string(v.id) + ": finding its schedule"));
}

// A conditional write that matched nothing means the row is not what this
// actor believed (another writer, a lost reply, a late commit): the task
// re-reads it in the same transaction and the actor adopts what it found.
using write_outcome = std::pair<bool, std::optional<reservation_view>>;

void adopt_row(reservation_ptr self, const std::optional<reservation_view>& row) {
  if (!row)
    return;
  auto was_held = self->state.view.status == reservation_status::held;
  self->state.view = *row;
  if (!was_held && row->status == reservation_status::held)
    arm_expiry(self);
}

template <class Write> auto rereading(int64_t id, Write write) {
  return [id, write](storage::pg_connection& c) -> write_outcome {
    bool ok = write(c);
    return {ok, storage::load_reservation(c, id)};
  };
}

caf::result<reservation_view> begin_payment(reservation_ptr self, int64_t saga_id) {
  auto& v = self->state.view;
  if (v.status == reservation_status::paying && v.saga_id == saga_id)
    return v;
  if (v.status != reservation_status::held)
    return wrong_state(v, "HELD");
  if (v.expires_at_ms <= actor_now_ms(self))
    return make_error(booking_errc::wrong_state, "the hold has expired");
  auto rp = self->make_response_promise<reservation_view>();
  db_await(
    self, self->state.db,
    rereading(v.id,
              [id = v.id, saga_id](storage::pg_connection& c) {
                bool ok = storage::mark_paying(c, id, saga_id);
                if (ok)
                  storage::record_saga_step(c, saga_id, "RESERVE", "DONE", std::nullopt);
                return ok;
              }),
    [self, rp](write_outcome out) mutable {
      adopt_row(self, out.second);
      if (!out.first) {
        rp.deliver(wrong_state(self->state.view, "HELD (unexpired)"));
        return;
      }
      rp.deliver(self->state.view);
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<reservation_view> abort_payment(reservation_ptr self, int64_t saga_id) {
  auto& v = self->state.view;
  // HELD in memory still asks the database: a compensation resumed by the
  // sweeper must not trust memory that a late commit may have outrun.
  if (v.status != reservation_status::held &&
      (v.status != reservation_status::paying || v.saga_id != saga_id))
    return wrong_state(v, "PAYING");
  auto rp = self->make_response_promise<reservation_view>();
  db_await(
    self, self->state.db,
    rereading(v.id,
              [id = v.id, saga_id](storage::pg_connection& c) {
                return storage::unmark_paying(c, id, saga_id);
              }),
    [self, rp](write_outcome out) mutable {
      adopt_row(self, out.second);
      auto& v = self->state.view;
      if (!out.first && v.status != reservation_status::held) {
        rp.deliver(wrong_state(v, "PAYING"));
        return;
      }
      arm_expiry(self); // expires at once if its time passed meanwhile
      rp.deliver(v);
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<payment_view> confirm(reservation_ptr self, int64_t saga_id) {
  auto& v = self->state.view;
  bool repeat = v.status == reservation_status::confirmed && v.saga_id == saga_id;
  if (!repeat && (v.status != reservation_status::paying || v.saga_id != saga_id))
    return wrong_state(v, "PAYING");
  auto rp = self->make_response_promise<payment_view>();
  using outcome = std::pair<std::optional<payment_view>, std::optional<reservation_view>>;
  db_await(
    self, self->state.db,
    [id = v.id, saga_id,
     answer = self->state.cfg.payment_answer](storage::pg_connection& c) -> outcome {
      auto payment = storage::confirm_payment(c, id, saga_id, answer);
      return {payment, storage::load_reservation(c, id)};
    },
    [self, rp](outcome out) mutable {
      adopt_row(self, out.second);
      if (!out.first) {
        rp.deliver(wrong_state(self->state.view, "PAYING"));
        return;
      }
      rp.deliver(*out.first);
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// A payment in one transaction: PAYING in memory keeps expiry, cancellation
// and any saga away while the transaction runs; the database still says HELD
// until it commits.
caf::result<reservation_view> lock_for_payment(reservation_ptr self) {
  auto& v = self->state.view;
  if (v.status != reservation_status::held)
    return wrong_state(v, "HELD");
  if (v.expires_at_ms <= actor_now_ms(self))
    return make_error(booking_errc::wrong_state, "the hold has expired");
  v.status = reservation_status::paying;
  v.saga_id = 0;
  return v;
}

bool locked_for_payment(const reservation_view& v) {
  return v.status == reservation_status::paying && v.saga_id == 0;
}

// The transaction did not commit: HELD again, and its expiry runs again
// (at once if its time passed meanwhile).
caf::result<reservation_view> unlock_after_payment(reservation_ptr self) {
  auto& v = self->state.view;
  if (!locked_for_payment(v))
    return wrong_state(v, "PAYING");
  v.status = reservation_status::held;
  arm_expiry(self);
  return v;
}

void paid(reservation_ptr self, int64_t saga_id) {
  auto& v = self->state.view;
  if (!locked_for_payment(v))
    return;
  v.status = reservation_status::confirmed;
  v.saga_id = saga_id;
}

caf::result<reservation_view> cancel_hold(reservation_ptr self) {
  auto& v = self->state.view;
  if (v.status != reservation_status::held)
    return wrong_state(v, "HELD");
  auto rp = self->make_response_promise<reservation_view>();
  db_await(
    self, self->state.db,
    rereading(v.id, [id = v.id](storage::pg_connection& c) { return storage::cancel_hold(c, id); }),
    [self, rp](write_outcome out) mutable {
      adopt_row(self, out.second);
      if (!out.first) {
        rp.deliver(wrong_state(self->state.view, "HELD"));
        return;
      }
      release_seat(self);
      rp.deliver(self->state.view);
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// The cancellation saga's single step: refund, CONFIRMED -> CANCELLED and the
// saga's end in one transaction conditioned on the payment (see
// storage::refund_booking). Always run, even when memory says CANCELLED: a
// resumed saga must still be finished in the database, and the condition
// makes a repeat refund nothing.
caf::result<reservation_view> refund_booking(reservation_ptr self, int64_t saga_id) {
  auto rp = self->make_response_promise<reservation_view>();
  db_await(
    self, self->state.db,
    [id = self->state.view.id, saga_id](storage::pg_connection& c) {
      return storage::refund_booking(c, id, saga_id);
    },
    [self, rp](storage::booking_refund out) mutable {
      adopt_row(self, out.reservation);
      if (self->state.view.status != reservation_status::cancelled) {
        rp.deliver(wrong_state(self->state.view, "CONFIRMED"));
        return;
      }
      release_seat(self); // idempotent: a repeat finds the seat free
      rp.deliver(self->state.view);
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

void expire(reservation_ptr self, uint64_t generation) {
  auto& st = self->state;
  if (generation != st.timer_generation || st.view.status != reservation_status::held)
    return;
  db_await(
    self, st.db,
    rereading(st.view.id,
              [id = st.view.id](storage::pg_connection& c) { return storage::expire_hold(c, id); }),
    [self](write_outcome out) {
      if (out.first) {
        self->state.view.status = reservation_status::expired;
        release_seat(self);
        return;
      }
      // Not HELD in the database (a payment whose outcome this actor never
      // learned): take the row as it is. Still HELD: the database clock is
      // not there yet, so look again shortly.
      adopt_row(self, out.second);
      if (self->state.view.status == reservation_status::held)
        self->delayed_send(self, std::chrono::milliseconds(100), expire_atom_v,
                           ++self->state.timer_generation);
    },
    [self](caf::error& err) {
      log_failure_of(
        "reservation " + std::to_string(self->state.view.id) + ": expiring, retrying in 1 s", err);
      self->delayed_send(self, std::chrono::seconds(1), expire_atom_v,
                         ++self->state.timer_generation);
    });
}

bool finished(const reservation_view& v) {
  return v.status == reservation_status::confirmed || v.status == reservation_status::expired ||
         v.status == reservation_status::cancelled;
}

} // namespace

reservation_actor::behavior_type
reservation_actor_impl(reservation_actor::stateful_pointer<reservation_state> self,
                       reservation_view view, db_actor db, catalogue_actor catalogue,
                       booking_config cfg) {
  auto& st = self->state;
  st.view = std::move(view);
  st.db = std::move(db);
  st.catalogue = std::move(catalogue);
  st.cfg = cfg;
  st.last_used = caf::make_timestamp();
  register_inspectable(self, "reservation", std::to_string(st.view.id));
  arm_expiry(self);
  self->delayed_send(self, std::chrono::seconds(cfg.idle_seconds), idle_atom_v);
  auto touch = [self] { self->state.last_used = caf::make_timestamp(); };
  return {
    [=](caf::get_atom) {
      touch();
      return self->state.view;
    },
    [=](pay_atom, int64_t saga_id) {
      touch();
      return begin_payment(self, saga_id);
    },
    [=](unpay_atom, int64_t saga_id) { return abort_payment(self, saga_id); },
    [=](confirm_atom, int64_t saga_id) { return confirm(self, saga_id); },
    [=](pay_atom) {
      touch();
      return lock_for_payment(self);
    },
    [=](unpay_atom) { return unlock_after_payment(self); },
    [=](paid_atom, int64_t saga_id) { paid(self, saga_id); },
    [=](cancel_atom) {
      touch();
      return cancel_hold(self);
    },
    [=](refund_atom, int64_t saga_id) { return refund_booking(self, saga_id); },
    [=](expire_atom, uint64_t generation) { expire(self, generation); },
    [=](idle_atom) {
      // Passivate: a finished reservation is only read now and then, and the
      // database has it. Live ones stay for their timers and sagas.
      auto idle_for = caf::make_timestamp() - self->state.last_used;
      if (finished(self->state.view) &&
          idle_for >= std::chrono::seconds(self->state.cfg.idle_seconds))
        return self->quit();
      self->delayed_send(self, std::chrono::seconds(self->state.cfg.idle_seconds), idle_atom_v);
    },
    [=](status_atom) {
      auto& v = self->state.view;
      caf::settings s;
      s["type"] = "reservation";
      s["id"] = std::to_string(v.id);
      s["status"] = to_string(v.status);
      s["userId"] = v.user_id;
      s["scheduleId"] = v.schedule_id;
      s["seatNumber"] = v.seat_number;
      s["expiresAtMs"] = v.expires_at_ms;
      s["sagaId"] = v.saga_id;
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
