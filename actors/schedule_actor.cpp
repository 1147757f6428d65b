#include "actors/schedule_actor.hpp"

#include "actors/db_call.hpp"
#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"
#include "actors/schedule_directory.hpp"
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

void adopt(schedule_ptr self, storage::schedule_snapshot snap) {
  auto& st = self->state;
  st.info = snap.info;
  std::vector<seat_board::seat> seats;
  seats.reserve(snap.seats.size());
  for (auto& row : snap.seats) {
    seats.push_back({row.seat_number, row.price, seat_status_of(row)});
    if (row.reservation_id != 0)
      st.owners_at_load.emplace(row.seat_number, row.reservation_id);
  }
  st.board = std::make_shared<seat_board>(st.info.id, st.info.concert_id, std::move(seats));
  st.board->describe(std::move(snap.facts));
  if (st.ctx.directory)
    st.ctx.directory->publish(st.info.id, {self, st.board});
}

void load(schedule_ptr self, int64_t schedule_id) {
  db_await(
    self, self->state.ctx.db,
    [schedule_id](storage::pg_connection& c) { return storage::load_schedule(c, schedule_id); },
    [self](std::optional<storage::schedule_snapshot> snap) {
      if (!snap) {
        self->quit(); // the catalogue only spawns known schedules; it notices the exit
        return;
      }
      adopt(self, std::move(*snap));
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

// The seat's actor, spawned on first use from what the board and the owners
// knew. Counts the request the caller is about to send it.
seat_actor seat_of(schedule_ptr self, int32_t seat_number, size_t pos) {
  auto& st = self->state;
  auto& live = st.seat_actors[seat_number];
  if (!live.actor) {
    auto owner = st.owners_at_load.find(seat_number);
    seat_init init{st.info.id,
                   seat_number,
                   st.board->price(pos),
                   st.board->status(pos),
                   owner == st.owners_at_load.end() ? 0 : owner->second,
                   st.board,
                   pos,
                   self};
    live.actor = self->spawn<caf::linked>(seat_actor_impl, init, st.ctx);
    if (owner != st.owners_at_load.end())
      st.owners_at_load.erase(owner); // the seat actor keeps its owner from now on
  }
  live.sent++;
  return live.actor;
}

// An idle seat actor may go when it has handled every request sent to it:
// then none is on its way, and none will be, since the schedule forgets it
// first. Its status stays on the board, its owner here.
void passivate(schedule_ptr self, int32_t seat_number, uint64_t handled, int64_t owner) {
  auto& st = self->state;
  auto live = st.seat_actors.find(seat_number);
  if (live == st.seat_actors.end() || live->second.sent != handled ||
      live->second.actor.address() != self->current_sender())
    return; // busy again, or an actor already gone: it asks again later
  if (owner != 0)
    st.owners_at_load[seat_number] = owner;
  self->send(live->second.actor, idle_atom_v);
  st.seat_actors.erase(live);
  st.passivated++;
}

caf::result<reservation_view> hold(schedule_ptr self, hold_request req) {
  auto& board = *self->state.board;
  auto pos = board.position(req.seat_number);
  if (pos == seat_board::npos)
    return no_such_seat(req.seat_number);
  if (board.status(pos) != seat_status::available) {
    // The board is kept current by the seat actors: no need to ask the seat.
    board.note_refusal();
    return make_error(booking_errc::seat_unavailable,
                      "seat " + std::to_string(req.seat_number) + " is not available");
  }
  return self->delegate(seat_of(self, req.seat_number, pos), hold_atom_v, req);
}

// Sells or releases through the seat's actor.
template <class Atom>
caf::result<caf::ok_atom> forward(schedule_ptr self, Atom atom, int32_t seat,
                                  int64_t reservation_id) {
  auto pos = self->state.board->position(seat);
  if (pos == seat_board::npos)
    return no_such_seat(seat);
  return self->delegate(seat_of(self, seat, pos), atom, reservation_id);
}

caf::settings status_of(schedule_ptr self) {
  auto& st = self->state;
  caf::settings s;
  s["type"] = "schedule";
  s["seatActors"] = st.seat_actors.size();
  s["seatActorsPassivated"] = st.passivated;
  s["rejectedFromView"] = st.board->refusals();
  s["id"] = st.info.id;
  s["totalSeats"] = st.info.total_seats;
  s["availableSeats"] = st.board->available();
  s["version"] = st.board->version();
  s["mailbox"] = self->mailbox().size();
  return s;
}

} // namespace

schedule_actor::behavior_type
schedule_actor_impl(schedule_actor::stateful_pointer<schedule_state> self, seat_context ctx,
                    int64_t schedule_id) {
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "schedule", std::to_string(schedule_id));
  load(self, schedule_id);
  return {
    [=](list_atom) { return self->state.board; },
    [=](caf::get_atom) {
      auto info = self->state.info;
      info.available_seats = self->state.board->available();
      return info;
    },
    [=](hold_atom, hold_request req) { return hold(self, req); },
    [=](sell_atom, int32_t seat, int64_t reservation_id) {
      return forward(self, sell_atom_v, seat, reservation_id);
    },
    [=](release_atom, int32_t seat, int64_t reservation_id) {
      return forward(self, release_atom_v, seat, reservation_id);
    },
    [=](idle_atom, int32_t seat, uint64_t handled, int64_t owner) {
      passivate(self, seat, handled, owner);
    },
    [=](status_atom) { return status_of(self); },
  };
}

} // namespace boxoffice
