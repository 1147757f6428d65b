#include "actors/schedule_actor.hpp"

#include <nlohmann/json.hpp>

#include "actors/db_call.hpp"
#include "storage/catalogue_store.hpp"

namespace boxoffice {

namespace {

std::string seat_status_of(const storage::seat_row& row) {
  if (row.reservation_status == "CONFIRMED")
    return "SOLD";
  if (row.reservation_status.empty())
    return "AVAILABLE";
  return "HELD";
}

void load(schedule_actor::stateful_pointer<schedule_state> self, db_actor db,
          int64_t schedule_id) {
  db_await(
    self, db, [schedule_id](storage::pg_connection& c) { return storage::load_schedule(c, schedule_id); },
    [self](std::optional<storage::schedule_snapshot> snap) {
      if (!snap) {
        self->quit(make_error(booking_errc::not_found, "schedule not found"));
        return;
      }
      self->state.info = snap->info;
      self->state.seats.reserve(snap->seats.size());
      for (auto& row : snap->seats)
        self->state.seats.push_back({row.seat_number, row.price, seat_status_of(row)});
    },
    [self](caf::error& err) { self->quit(err); });
}

} // namespace

int32_t schedule_state::available() const {
  int32_t n = 0;
  for (auto& s : seats)
    n += s.status == "AVAILABLE";
  return n;
}

schedule_actor::behavior_type
schedule_actor_impl(schedule_actor::stateful_pointer<schedule_state> self, db_actor db,
                    int64_t schedule_id) {
  load(self, db, schedule_id);
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
    [=](status_atom) {
      nlohmann::json j{{"type", "schedule"},
                       {"id", self->state.info.id},
                       {"totalSeats", self->state.info.total_seats},
                       {"availableSeats", self->state.available()},
                       {"mailbox", self->mailbox().size()}};
      return j.dump();
    },
  };
}

} // namespace boxoffice
