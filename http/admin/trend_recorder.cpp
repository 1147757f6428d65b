#include "http/admin/trend_recorder.hpp"

#include "actors/collect_status.hpp"
#include "http/server.hpp"

namespace boxoffice::http {

namespace {

constexpr auto period = std::chrono::milliseconds(trend_interval_ms);
// Both deadlines together stay near the period: a tick whose answers are
// late costs that one sample, never a backlog of requests.
constexpr auto status_deadline = std::chrono::milliseconds(600);
constexpr auto count_deadline = std::chrono::milliseconds(300);

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::optional<caf::settings> answered(const collected_status& collected, const char* name) {
  auto i = collected.find(name);
  if (i == collected.end() || i->second.contains("error"))
    return std::nullopt;
  return i->second;
}

// The figures that are read, not asked for, are read last, at one instant,
// so that rates over the interval match the HTTP histograms' own interval.
void finish(trend_recorder_ptr self, trend_reading reading) {
  auto& st = self->state;
  reading.taken = std::chrono::steady_clock::now();
  reading.wall_ms = wall_ms();
  reading.traffic = st.sources.metrics->snapshot();
  if (st.sources.public_server)
    reading.shed = st.sources.public_server->counters().shed.load();
  if (st.previous)
    st.window.push(sample_between(*st.previous, reading));
  st.previous = std::move(reading);
  st.gathering = false;
}

void count_actors(trend_recorder_ptr self, std::shared_ptr<trend_reading> reading) {
  self->request(self->state.sources.inspector, count_deadline, caf::get_atom_v)
    .then(
      [self, reading](caf::settings& by_type) {
        reading->actors = std::move(by_type);
        finish(self, std::move(*reading));
      },
      // No counts this second: the chart shows a gap.
      [self, reading](caf::error&) { finish(self, std::move(*reading)); });
}

void gather(trend_recorder_ptr self) {
  auto& src = self->state.sources;
  std::vector<status_target> targets{{"queue", caf::actor_cast<status_iface>(src.waiting_room)}};
  if (src.dispatcher)
    targets.push_back({"dispatcher", caf::actor_cast<status_iface>(src.dispatcher)});
  collect_status(self, targets, status_deadline, [self](collected_status collected) {
    auto reading = std::make_shared<trend_reading>();
    reading->queue = answered(collected, "queue");
    reading->dispatcher = answered(collected, "dispatcher");
    count_actors(self, reading);
  });
}

} // namespace

trend_recorder_actor::behavior_type trend_recorder_impl(trend_recorder_ptr self,
                                                        trend_sources sources) {
  self->state.sources = std::move(sources);
  self->send(self, tick_atom_v);
  return {
    [=](tick_atom) {
      // The next tick first, so a slow gather does not stretch the period.
      self->delayed_send(self, period, tick_atom_v);
      if (self->state.gathering)
        return;
      self->state.gathering = true;
      gather(self);
    },
    [=](caf::get_atom, int64_t seconds) {
      return self->state.window.render_json(seconds > 0 ? static_cast<size_t>(seconds) : 0);
    },
  };
}

} // namespace boxoffice::http
