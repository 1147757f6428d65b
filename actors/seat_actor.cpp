#include "actors/seat_actor.hpp"

#include "actors/inspector_actor.hpp"

#include "actors/db_call.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice {

namespace {

using seat_ptr = seat_actor::stateful_pointer<seat_state>;

caf::result<reservation_view> hold(seat_ptr self, hold_request req) {
  auto& st = self->state;
  if (st.status != seat_status::available) {
    st.rejected++;
    return make_error(booking_errc::seat_unavailable,
                      "seat " + std::to_string(st.seat_number) + " is not available");
  }
  // Claim the seat in memory first: racing holds are turned away at once.
  st.set(seat_status::holding, 0);
  auto rp = self->make_response_promise<reservation_view>();
  auto price = st.price;
  auto cfg = st.ctx.cfg;
  auto board = st.board; // its facts name the concert in the hold's event
  db_then(
    self, st.ctx.db,
    [req, price, cfg, board](storage::pg_connection& c) {
      static const schedule_facts unknown; // tests spawn seats without a board
      return storage::insert_hold(c, req, price, cfg.hold_ttl_seconds, cfg.hold_max_per_user,
                                  board ? board->facts() : unknown, cfg.partitions());
    },
    [self, rp](storage::hold_result res) mutable {
      auto& st = self->state;
      switch (res.outcome) {
        case storage::hold_outcome::held:
          st.set(seat_status::held, res.reservation.id);
          st.holds++;
          self->send(st.ctx.reservations, adopt_atom_v, res.reservation);
          rp.deliver(res.reservation);
          return;
        case storage::hold_outcome::user_limit:
          st.set(seat_status::available, 0);
          rp.deliver(make_error(booking_errc::hold_limit, "too many seats held at once"));
          return;
        case storage::hold_outcome::seat_taken:
          // The database knows an owner this actor does not: trust it.
          st.set(seat_status::held, 0);
          rp.deliver(make_error(booking_errc::seat_unavailable, "seat is not available"));
          return;
      }
    },
    [self, rp](caf::error& err) mutable {
      self->state.set(seat_status::available, 0);
      rp.deliver(err);
    });
  return rp;
}

caf::result<caf::ok_atom> sell(seat_ptr self, int64_t reservation_id) {
  auto& st = self->state;
  bool owned = st.status == seat_status::held || st.status == seat_status::sold;
  if (st.reservation_id == reservation_id && owned) {
    st.set(seat_status::sold, reservation_id);
    return caf::ok_atom_v;
  }
  return make_error(booking_errc::wrong_state, "seat is not held by this reservation");
}

caf::result<caf::ok_atom> release(seat_ptr self, int64_t reservation_id) {
  auto& st = self->state;
  // Idempotent: releasing for a reservation that no longer owns it is a no-op,
  // except an unknown owner (0) learned from the database guard.
  if ((st.reservation_id == reservation_id || st.reservation_id == 0) &&
      st.status != seat_status::holding)
    st.set(seat_status::available, 0);
  return caf::ok_atom_v;
}

// Every request the schedule sent counts, whatever its outcome.
void note_request(seat_ptr self) {
  self->state.handled++;
  self->state.last_used = self->clock().now();
}

// Idle long enough and nothing in flight: ask the schedule to let it go. The
// schedule agrees only if no request is on its way here (see schedule_actor).
void check_idle(seat_ptr self) {
  auto& st = self->state;
  auto idle = std::chrono::seconds(st.ctx.cfg.idle_seconds);
  if (st.schedule && st.status != seat_status::holding &&
      self->clock().now() - st.last_used >= idle)
    self->send(st.schedule, idle_atom_v, st.seat_number, st.handled, st.reservation_id);
  self->delayed_send(self, idle, tick_atom_v);
}

} // namespace

void seat_state::set(seat_status new_status, int64_t new_reservation) {
  status = new_status;
  reservation_id = new_reservation;
  if (board)
    board->set_status(position, status);
}

seat_actor::behavior_type seat_actor_impl(seat_actor::stateful_pointer<seat_state> self,
                                          seat_init init, seat_context ctx) {
  auto& st = self->state;
  st.schedule_id = init.schedule_id;
  st.seat_number = init.seat_number;
  st.price = init.price;
  st.status = init.status;
  st.reservation_id = init.reservation_id;
  st.ctx = std::move(ctx);
  st.board = std::move(init.board);
  st.position = init.position;
  st.schedule = std::move(init.schedule);
  st.last_used = self->clock().now();
  self->delayed_send(self, std::chrono::seconds(st.ctx.cfg.idle_seconds), tick_atom_v);
  register_inspectable(self, "seat",
                       std::to_string(st.schedule_id) + "/" + std::to_string(st.seat_number));
  return {
    [=](hold_atom, hold_request req) {
      note_request(self);
      return hold(self, req);
    },
    [=](sell_atom, int64_t reservation_id) {
      note_request(self);
      return sell(self, reservation_id);
    },
    [=](release_atom, int64_t reservation_id) {
      note_request(self);
      return release(self, reservation_id);
    },
    [=](tick_atom) { check_idle(self); },
    // The schedule forgot this actor; its status and owner live on there.
    [=](idle_atom) { self->quit(); },
    [=](status_atom) {
      auto& st = self->state;
      caf::settings s;
      s["type"] = "seat";
      s["id"] = std::to_string(st.schedule_id) + "/" + std::to_string(st.seat_number);
      s["scheduleId"] = st.schedule_id;
      s["seatNumber"] = st.seat_number;
      s["status"] = to_string(st.status);
      s["reservationId"] = st.reservation_id;
      s["price"] = st.price;
      s["holds"] = st.holds;
      s["rejected"] = st.rejected;
      s["handled"] = st.handled;
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
