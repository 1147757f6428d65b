#include "http/bridge_supervisor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace boxoffice::http {

caf::actor bridge_slot::get() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return current_;
}

void bridge_slot::set(caf::actor bridge) {
  std::lock_guard<std::mutex> lock{mutex_};
  current_ = std::move(bridge);
}

namespace {

struct supervisor_state {
  static inline const char* name = "bridge-supervisor";
};

using supervisor_ptr = caf::stateful_actor<supervisor_state>*;

void respawn(supervisor_ptr self, const bridge_factory& factory, bridge_slot& slot,
             std::atomic<uint64_t>& restarts) {
  auto fresh = factory(self->home_system());
  self->monitor(fresh);
  slot.set(fresh);
  restarts++;
}

caf::behavior bridge_supervisor_actor_impl(supervisor_ptr self, std::string name,
                                           bridge_factory factory,
                                           std::shared_ptr<bridge_slot> slot,
                                           std::shared_ptr<std::atomic<uint64_t>> restarts) {
  self->monitor(slot->get());
  self->set_down_handler([=](caf::down_msg& down) {
    if (down.source != slot->get().address())
      return; // an older bridge, already replaced
    spdlog::error("the {} bridge stopped ({}); starting a fresh one", name,
                  caf::to_string(down.reason));
    respawn(self, factory, *slot, *restarts);
  });
  // Shutdown: take the bridge along, and quit (a custom exit handler must).
  self->set_exit_handler([=](caf::exit_msg& msg) {
    self->send_exit(slot->get(), msg.reason);
    self->quit(msg.reason);
  });
  return {
    // An actor without behaviour ends at once; this one answers how often it
    // had to restart its bridge.
    [=](caf::get_atom) { return restarts->load(); },
  };
}

} // namespace

caf::actor spawn_bridge_supervisor(caf::actor_system& sys, std::string name, bridge_factory factory,
                                   std::shared_ptr<bridge_slot> slot,
                                   std::shared_ptr<std::atomic<uint64_t>> restarts) {
  slot->set(factory(sys));
  return sys.spawn(bridge_supervisor_actor_impl, std::move(name), std::move(factory),
                   std::move(slot), std::move(restarts));
}

} // namespace boxoffice::http
