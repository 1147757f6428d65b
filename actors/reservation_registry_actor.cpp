#include "actors/reservation_registry_actor.hpp"

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "actors/db_call.hpp"
#include "actors/reservation_actor.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice {

namespace {

using registry_ptr = reservation_registry_actor::stateful_pointer<reservation_registry_state>;

constexpr auto backstop_interval = std::chrono::seconds(5);

reservation_actor adopt(registry_ptr self, const reservation_view& view) {
  auto& st = self->state;
  if (auto running = st.live.find(view.id))
    return *running;
  // Linked, so a shutdown reaches every child and its pending expiry timer.
  return st.live.watch(
    self, view.id,
    self->spawn<caf::linked>(reservation_actor_impl, view, st.db, st.catalogue, st.cfg));
}

void finish_loading(registry_ptr self, int64_t id, const std::optional<reservation_view>& view,
                    const caf::error& err) {
  auto waiting = std::move(self->state.loading[id]);
  self->state.loading.erase(id);
  for (auto& rp : waiting) {
    if (err)
      rp.deliver(err);
    else if (!view)
      rp.deliver(make_error(booking_errc::not_found, "reservation not found"));
    else
      rp.deliver(adopt(self, *view));
  }
}

caf::result<reservation_actor> find(registry_ptr self, int64_t id) {
  auto& st = self->state;
  if (auto running = st.live.find(id))
    return *running;
  auto rp = self->make_response_promise<reservation_actor>();
  auto& waiting = st.loading[id];
  waiting.push_back(rp);
  if (waiting.size() > 1)
    return rp; // a load is already under way
  st.loaded++;
  db_then(
    self, st.db, [id](storage::pg_connection& c) { return storage::load_reservation(c, id); },
    [self, id](std::optional<reservation_view> view) { finish_loading(self, id, view, {}); },
    [self, id](caf::error& err) { finish_loading(self, id, std::nullopt, err); });
  return rp;
}

// Spawns actors for live holds the registry does not know: all of them at
// start-up, then the overdue ones now and then as a backstop.
void scan(registry_ptr self, bool overdue_only) {
  db_then(
    self, self->state.db,
    [overdue_only, scope = owned_scope(self->state.cfg.cluster)](storage::pg_connection& c) {
      return storage::live_holds(c, overdue_only, scope);
    },
    [self](std::vector<reservation_view> views) {
      for (auto& v : views)
        adopt(self, v);
      self->delayed_send(self, backstop_interval, load_atom_v);
    },
    [self](caf::error& err) {
      log_failure_of("reservation registry: scanning live holds", err);
      self->delayed_send(self, backstop_interval, load_atom_v);
    });
}

} // namespace

reservation_registry_actor::behavior_type reservation_registry_actor_impl(
  reservation_registry_actor::stateful_pointer<reservation_registry_state> self, db_actor db,
  catalogue_actor catalogue, booking_config cfg) {
  self->state.db = std::move(db);
  self->state.catalogue = std::move(catalogue);
  self->state.cfg = cfg;
  register_inspectable(self, "reservation-registry", "main");
  self->set_down_handler([self](const caf::down_msg& msg) { self->state.live.forget(msg.source); });
  // The first scan waits for the catalogue handle (see put_atom).
  return {
    [=](caf::get_atom, int64_t id) { return find(self, id); },
    [=](adopt_atom, reservation_view view) { adopt(self, view); },
    [=](load_atom) { scan(self, true); },
    [=](caf::put_atom, caf::actor catalogue) {
      self->state.catalogue = caf::actor_cast<catalogue_actor>(catalogue);
      scan(self, false);
    },
    [=](status_atom) {
      caf::settings s;
      s["type"] = "reservation-registry";
      s["live"] = self->state.live.size();
      s["loaded"] = self->state.loaded;
      s["passivated"] = self->state.live.passivated();
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
