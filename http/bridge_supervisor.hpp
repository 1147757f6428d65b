#pragma once
// Each HTTP listener hands its requests to one bridge actor. If that actor
// dies anyway (see http/bridge_guard.hpp), its supervisor spawns a fresh one
// and swaps the handle the listener reads, so the API never stays dead.

#include <atomic>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace boxoffice::http {

// The handle the HTTP threads send to; swapped by the supervisor.
class bridge_slot {
public:
  caf::actor get() const;
  void set(caf::actor bridge);

private:
  mutable std::mutex mutex_;
  caf::actor current_;
};

// Spawns a bridge actor (e.g. `sys.spawn(api_actor_impl, services)`).
using bridge_factory = std::function<caf::actor(caf::actor_system&)>;

// Spawns the first bridge into `slot`, then a supervisor that respawns it on
// every down and counts that in `restarts`. An exit sent to the supervisor
// stops the current bridge too, so shutdown needs to stop only the supervisor.
caf::actor spawn_bridge_supervisor(caf::actor_system& sys, std::string name, bridge_factory factory,
                                   std::shared_ptr<bridge_slot> slot,
                                   std::shared_ptr<std::atomic<uint64_t>> restarts);

} // namespace boxoffice::http
