#include "actors/schedule_actor.hpp"

#include <algorithm>

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "actors/db_call.hpp"
#include "actors/seat_actor.hpp"
#include "storage/catalogue_store.hpp"

namespace boxoffice {

namespace {

seat_status seat_status_of(const storage::seat_row& row) {
  if (!row.reservation_status)
    return seat_status::available;
  if (*row.reservation_status == reservation_status::confirmed)
    return seat_status::sold;
  return seat_status::held;
}

using schedule_ptr = schedule_actor::stateful_pointer<schedule_state>;

void load(schedule_ptr self, int64_t schedule_id) {
  db_await(
    self, self->state.ctx.db,
    [schedule_id](storage::pg_connection& c) { return storage::load_schedule(c, schedule_id); },
    [self](std::optional<storage::schedule_snapshot> snap) {
      if (!snap) {
        self->quit(); // the catalogue only spawns known schedules; it notices the exit
        return;
      }
      self->state.info = snap->info;
      self->state.seats.reserve(snap->seats.size());
      for (auto& row : snap->seats)
        self->state.seats.push_back(
          {row.seat_number, row.price, seat_status_of(row), row.reservation_id, {}});
      // slot() searches by number: keep the view sorted whatever the query did.
      std::sort(
        self->state.seats.begin(), self->state.seats.end(),
        [](const seat_slot& a, const seat_slot& b) { return a.seat_number < b.seat_number; });
    },
    [self, schedule_id](caf::error& err) {
      log_failure_of("schedule " + std::to_string(schedule_id) + ": loading (it stops)", err);
      self->quit();
    });
}

caf::error no_such_seat(int32_t seat_number) {
  return make_error(booking_errc::not_found,
                    "seat " + std::to_string(seat_number) + " does not exist in this schedule");
}

seat_actor seat_of(schedule_ptr self, seat_slot& slot) {
  if (!slot.actor) {
    seat_init init{self->state.info.id, slot.seat_number, slot.price, slot.status,
                   slot.reservation_id};
    slot.actor = self->spawn<caf::linked>(seat_actor_impl, init, self->state.ctx,
                                          caf::actor_cast<schedule_actor>(self));
  }
  return slot.actor;
}

caf::result<reservation_view> hold(schedule_ptr self, hold_request req) {
  auto slot = self->state.slot(req.seat_number);
  if (!slot)
    return no_such_seat(req.seat_number);
  if (slot->status != seat_status::available) {
    // The view is kept current by the seat actors: no need to ask the seat.
    self->state.rejected_from_view++;
    return make_error(booking_errc::seat_unavailable,
                      "seat " + std::to_string(req.seat_number) + " is not available");
  }
  return self->delegate(seat_of(self, *slot), hold_atom_v, req);
}

} // namespace

seat_slot* schedule_state::slot(int32_t seat_number) {
  // Seat numbers need not run 1..N (a venue may number from 101, or skip):
  // find the number itself, never a position.
  auto i = std::lower_bound(seats.begin(), seats.end(), seat_number,
                            [](const seat_slot& s, int32_t n) { return s.seat_number < n; });
  if (i == seats.end() || i->seat_number != seat_number)
    return nullptr;
  return &*i;
}

int32_t schedule_state::available() const {
  int32_t n = 0;
  for (auto& s : seats)
    n += s.status == seat_status::available;
  return n;
}

schedule_actor::behavior_type
schedule_actor_impl(schedule_actor::stateful_pointer<schedule_state> self, seat_context ctx,
                    int64_t schedule_id) {
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "schedule", std::to_string(schedule_id));
  load(self, schedule_id);
  return {
    [=](list_atom) {
      seat_list out;
      out.reserve(self->state.seats.size());
      for (auto& s : self->state.seats)
        out.push_back({s.seat_number, s.price, s.status});
      return out;
    },
    [=](caf::get_atom) {
      auto info = self->state.info;
      info.available_seats = self->state.available();
      return info;
    },
    [=](hold_atom, hold_request req) { return hold(self, req); },
    [=](sell_atom, int32_t seat, int64_t reservation_id) -> caf::result<caf::ok_atom> {
      auto slot = self->state.slot(seat);
      if (!slot)
        return no_such_seat(seat);
      return self->delegate(seat_of(self, *slot), sell_atom_v, reservation_id);
    },
    [=](release_atom, int32_t seat, int64_t reservation_id) -> caf::result<caf::ok_atom> {
      auto slot = self->state.slot(seat);
      if (!slot)
        return no_such_seat(seat);
      return self->delegate(seat_of(self, *slot), release_atom_v, reservation_id);
    },
    [=](changed_atom, int32_t seat, seat_status status) {
      if (auto slot = self->state.slot(seat))
        slot->status = status;
    },
    [=](status_atom) {
      int seat_actors = 0;
      for (auto& s : self->state.seats)
        seat_actors += static_cast<bool>(s.actor);
      caf::settings s;
      s["type"] = "schedule";
      s["seatActors"] = seat_actors;
      s["rejectedFromView"] = self->state.rejected_from_view;
      s["id"] = self->state.info.id;
      s["totalSeats"] = self->state.info.total_seats;
      s["availableSeats"] = self->state.available();
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
