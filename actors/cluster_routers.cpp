#include "actors/cluster_routers.hpp"

#include "messages/errors.hpp"

namespace boxoffice {

namespace {

caf::error no_owner(const std::string& what) {
  return make_error(booking_errc::partition_unavailable,
                    what + " has no reachable owner right now (a node is joining or has just "
                           "left the cluster); retry");
}

caf::settings router_status(const router_state& st, const char* kind, const std::string& serves) {
  caf::settings out;
  out["type"] = kind;
  out["router"] = true;
  out["servedBy"] = serves;
  out["local"] = st.local;
  out["remote"] = st.remote;
  out["failed"] = st.failed;
  return out;
}

// The coordinator's handle of one kind, counted; invalid when unknown.
template <class Handle> Handle count_route(router_state& st, Handle h) {
  if (!h)
    st.failed++;
  else if (st.map->coordinating())
    st.local++;
  else
    st.remote++;
  return h;
}

} // namespace

wallet_registry_actor::behavior_type
wallet_router_impl(wallet_registry_actor::stateful_pointer<router_state> self,
                   wallet_registry_actor local, std::shared_ptr<const cluster_map> map) {
  self->state.map = std::move(map);
  return {
    [=](caf::get_atom, int64_t user_id) -> caf::result<wallet_actor> {
      auto& st = self->state;
      auto owner = st.map->owner_of(user_id);
      if (owner == st.map->me()) {
        st.local++;
        return self->delegate(local, caf::get_atom_v, user_id);
      }
      auto peer = st.map->find_peer(owner);
      if (!peer || !peer->handles.wallets) {
        st.failed++;
        return no_owner("the wallet of user " + std::to_string(user_id));
      }
      st.remote++;
      return self->delegate(peer->handles.wallets, caf::get_atom_v, user_id);
    },
    [=](status_atom) -> caf::result<caf::settings> { return self->delegate(local, status_atom_v); },
  };
}

waiting_room_actor::behavior_type
waiting_room_router_impl(waiting_room_actor::stateful_pointer<router_state> self,
                         std::shared_ptr<const cluster_map> map) {
  self->state.map = std::move(map);
  auto room = [self] {
    return count_route(self->state, self->state.map->coordinator().waiting_room);
  };
  return {
    [=](token_atom, int64_t user_id) -> caf::result<queue_ticket> {
      if (auto to = room())
        return self->delegate(to, token_atom_v, user_id);
      return no_owner("the waiting room");
    },
    [=](poll_atom, std::string& token) -> caf::result<queue_ticket> {
      if (auto to = room())
        return self->delegate(to, poll_atom_v, std::move(token));
      return no_owner("the waiting room");
    },
    [=](check_atom, std::string& token, int64_t user_id) -> caf::result<caf::ok_atom> {
      if (auto to = room())
        return self->delegate(to, check_atom_v, std::move(token), user_id);
      return no_owner("the waiting room");
    },
    [=](leave_atom, int64_t user_id) {
      if (auto to = room())
        self->send(to, leave_atom_v, user_id);
    },
    [=](tick_atom) {}, // the waiting room ticks itself
    [=](status_atom) -> caf::result<caf::settings> {
      auto& st = self->state;
      if (st.map->coordinating())
        if (auto to = st.map->local().waiting_room)
          return self->delegate(to, status_atom_v);
      return router_status(st, "waiting-room", st.map->owner_of(0));
    },
  };
}

dispatcher_actor::behavior_type
dispatcher_router_impl(dispatcher_actor::stateful_pointer<router_state> self,
                       std::shared_ptr<const cluster_map> map) {
  self->state.map = std::move(map);
  auto target = [self] {
    return count_route(self->state, self->state.map->coordinator().dispatcher);
  };
  return {
    [=](committed_events& rows) {
      if (auto to = target())
        self->send(to, std::move(rows));
    },
    [=](tick_atom) {}, // the dispatcher ticks itself
    [=](flush_atom) {
      if (auto to = target())
        self->send(to, flush_atom_v);
    },
    [=](prune_atom) {
      if (auto to = target())
        self->send(to, prune_atom_v);
    },
    [=](delivery_report&) {}, // reports go to the dispatcher that sent the event
    [=](list_atom) -> caf::result<std::string> {
      if (auto to = target())
        return self->delegate(to, list_atom_v);
      return no_owner("the dispatcher");
    },
    [=](replay_atom, int64_t id) -> caf::result<int64_t> {
      if (auto to = target())
        return self->delegate(to, replay_atom_v, id);
      return no_owner("the dispatcher");
    },
    [=](status_atom) -> caf::result<caf::settings> {
      auto& st = self->state;
      if (st.map->coordinating())
        if (auto to = st.map->local().dispatcher)
          return self->delegate(to, status_atom_v);
      return router_status(st, "dispatcher", st.map->owner_of(0));
    },
  };
}

} // namespace boxoffice
