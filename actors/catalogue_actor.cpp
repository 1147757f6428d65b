#include "actors/catalogue_actor.hpp"

#include "actors/inspector_actor.hpp"

#include "actors/cluster_map.hpp"
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

// One answer of several: the list goes out when the last has come in, or
// with the first error.
struct availability_gather {
  caf::typed_response_promise<schedule_list> rp;
  schedule_list out;
  size_t remaining = 0;

  void done() {
    if (remaining != 0 && --remaining == 0)
      rp.deliver(out);
  }
  void fail(caf::error& err) {
    if (remaining != 0) {
      remaining = 0;
      rp.deliver(err);
    }
  }
};

// Schedules whose partitions live on other nodes: counted by the database,
// without spawning their actors here.
void count_foreign(catalogue_ptr self, std::shared_ptr<availability_gather> g,
                   std::vector<size_t> foreign) {
  std::vector<int64_t> ids;
  for (auto k : foreign)
    ids.push_back(g->out[k].id);
  db_then(
    self, self->state.ctx.db,
    [ids](storage::pg_connection& c) { return storage::available_seats(c, ids); },
    [g, foreign](std::map<int64_t, int32_t> available) {
      for (auto k : foreign)
        g->out[k].available_seats = available[g->out[k].id];
      g->done();
    },
    [g](caf::error& err) { g->fail(err); });
}

// Asks every schedule actor of a concert for its live availability.
caf::result<schedule_list> schedules_with_availability(catalogue_ptr self, int64_t concert_id) {
  auto i = self->state.schedules_by_concert.find(concert_id);
  if (i == self->state.schedules_by_concert.end())
    return unknown_concert();
  auto g = std::make_shared<availability_gather>();
  g->rp = self->make_response_promise<schedule_list>();
  g->out = i->second;
  auto& cluster = self->state.ctx.cfg.cluster;
  std::vector<size_t> foreign;
  for (size_t k = 0; k < g->out.size(); ++k)
    if (cluster && !cluster->mine(g->out[k].id))
      foreign.push_back(k);
  g->remaining = g->out.size() - foreign.size() + (foreign.empty() ? 0 : 1);
  if (g->remaining == 0) {
    g->rp.deliver(g->out);
    return g->rp;
  }
  if (!foreign.empty())
    count_foreign(self, g, foreign);
  for (size_t k = 0; k < g->out.size(); ++k) {
    if (cluster && !cluster->mine(g->out[k].id))
      continue;
    auto handle = self->state.schedule(self, g->out[k].id);
    self->request(handle, std::chrono::seconds(10), caf::get_atom_v)
      .then(
        [g, k](schedule_info info) {
          g->out[k].available_seats = info.available_seats;
          g->out[k].total_seats = info.total_seats;
          g->done();
        },
        [g](caf::error& err) { g->fail(err); });
  }
  return g->rp;
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
