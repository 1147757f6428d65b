#include "actors/wallet_registry_actor.hpp"

#include "actors/inspector_actor.hpp"
#include "actors/wallet_actor.hpp"

namespace boxoffice {

wallet_registry_actor::behavior_type
wallet_registry_actor_impl(wallet_registry_actor::stateful_pointer<wallet_registry_state> self,
                           db_actor db, booking_config cfg) {
  self->state.db = std::move(db);
  self->state.cfg = cfg;
  register_inspectable(self, "wallet-registry", "main");
  self->set_down_handler([self](const caf::down_msg& msg) { self->state.live.forget(msg.source); });
  return {
    [=](caf::get_atom, int64_t user_id) {
      auto& st = self->state;
      if (auto running = st.live.find(user_id))
        return *running;
      return st.live.watch(self, user_id,
                           self->spawn<caf::linked>(wallet_actor_impl, user_id, st.db, st.cfg));
    },
    [=](status_atom) {
      caf::settings s;
      s["type"] = "wallet-registry";
      s["live"] = self->state.live.size();
      s["passivated"] = self->state.live.passivated();
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
