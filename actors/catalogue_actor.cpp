#include "actors/catalogue_actor.hpp"

#include "actors/inspector_actor.hpp"

#include "actors/db_call.hpp"
#include "actors/schedule_actor.hpp"
#include "actors/schedule_directory.hpp"
#include "storage/catalogue_store.hpp"

namespace boxoffice {

namespace {

using catalogue_ptr = catalogue_actor::stateful_pointer<catalogue_state>;

struct catalogue_snapshot {
  concert_list concerts;
  std::map<int64_t, schedule_list> schedules;
};

void load(catalogue_ptr self) {
  db_await(
    self, self->state.ctx.db,
    [](storage::pg_connection& c) {
      catalogue_snapshot snap;
      snap.concerts = storage::load_concerts(c);
      for (auto& concert : snap.concerts)
        snap.schedules[concert.id] =
          storage::load_schedules(c, concert.id).value_or(schedule_list{});
      return snap;
    },
    [self](catalogue_snapshot snap) {
      auto& st = self->state;
      st.concerts = std::move(snap.concerts);
      st.schedules_by_concert = std::move(snap.schedules);
      for (auto& [concert_id, list] : st.schedules_by_concert)
        for (auto& s : list)
          st.concert_of_schedule[s.id] = concert_id;
    },
    [self](caf::error& err) { self->quit(err); });
}

caf::error unknown_concert() {
  return make_error(booking_errc::not_found, "concert not found");
}
caf::error unknown_schedule() {
  return make_error(booking_errc::not_found, "schedule not found");
}

// Asks every schedule actor of a concert for its live availability.
caf::result<schedule_list> schedules_with_availability(catalogue_ptr self, int64_t concert_id) {
  auto i = self->state.schedules_by_concert.find(concert_id);
  if (i == self->state.schedules_by_concert.end())
    return unknown_concert();
  auto rp = self->make_response_promise<schedule_list>();
  auto out = std::make_shared<schedule_list>(i->second);
  if (out->empty()) {
    rp.deliver(*out);
    return rp;
  }
  auto remaining = std::make_shared<size_t>(out->size());
  for (size_t k = 0; k < out->size(); ++k) {
    auto handle = self->state.schedule(self, (*out)[k].id);
    self->request(handle, std::chrono::seconds(10), caf::get_atom_v)
      .then(
        [=](schedule_info info) mutable {
          (*out)[k].available_seats = info.available_seats;
          (*out)[k].total_seats = info.total_seats;
          if (--*remaining == 0)
            rp.deliver(*out);
        },
        [=](caf::error& err) mutable {
          if (*remaining != 0) {
            *remaining = 0;
            rp.deliver(err);
          }
        });
  }
  return rp;
}

} // namespace

schedule_actor catalogue_state::schedule(caf::local_actor* self, int64_t schedule_id) {
  auto i = schedule_actors.find(schedule_id);
  if (i != schedule_actors.end())
    return i->second;
  auto handle = self->spawn<caf::linked>(schedule_actor_impl, ctx, schedule_id);
  // A schedule that failed to load quits; the next request spawns it anew.
  self->monitor(handle);
  schedule_actors.emplace(schedule_id, handle);
  return handle;
}

catalogue_actor::behavior_type
catalogue_actor_impl(catalogue_actor::stateful_pointer<catalogue_state> self, seat_context ctx) {
  self->state.ctx = std::move(ctx);
  register_inspectable(self, "catalogue", "main");
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& actors = self->state.schedule_actors;
    for (auto i = actors.begin(); i != actors.end(); ++i)
      if (i->second.address() == msg.source) {
        if (auto& directory = self->state.ctx.directory)
          directory->withdraw(i->first, msg.source);
        return static_cast<void>(actors.erase(i));
      }
  });
  load(self);
  return {
    [=](list_atom) { return self->state.concerts; },
    [=](list_atom, int64_t concert_id) { return schedules_with_availability(self, concert_id); },
    [=](caf::get_atom, int64_t concert_id, int64_t schedule_id) -> caf::result<schedule_actor> {
      auto i = self->state.concert_of_schedule.find(schedule_id);
      if (!self->state.schedules_by_concert.count(concert_id))
        return unknown_concert();
      if (i == self->state.concert_of_schedule.end() || i->second != concert_id)
        return unknown_schedule();
      return self->state.schedule(self, schedule_id);
    },
    [=](caf::get_atom, int64_t schedule_id) -> caf::result<schedule_actor> {
      if (!self->state.concert_of_schedule.count(schedule_id))
        return unknown_schedule();
      return self->state.schedule(self, schedule_id);
    },
    [=](status_atom) {
      caf::settings s;
      s["type"] = "catalogue";
      s["concerts"] = self->state.concerts.size();
      s["schedules"] = self->state.concert_of_schedule.size();
      s["scheduleActors"] = self->state.schedule_actors.size();
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
