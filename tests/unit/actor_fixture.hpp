#pragma once
// A deterministic actor system: CAF's test coordinator runs one message at a
// time on the test's thread, and its clock only moves when told to.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "messages/vocabulary.hpp"

namespace boxoffice::testing {

struct deterministic_config : caf::actor_system_config {
  deterministic_config() {
    add_message_types<caf::id_block::boxoffice>();
    add_booking_error_category(*this);
    set("scheduler.policy", caf::atom("testing"));
  }
};

struct actor_fixture {
  deterministic_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());

  void run() {
    while (sched.try_run_once()) {
    }
  }

  void advance(std::chrono::milliseconds d) {
    sched.clock().advance_time(d);
    run();
  }

  // Takes one reply off `who`'s mailbox, failing the test (not hanging it)
  // when none is there: a broken actor must not stall the suite.
  template <class... Handlers> void receive(caf::scoped_actor& who, Handlers... handlers) {
    bool replied = true;
    who->receive(
      handlers..., caf::after(std::chrono::seconds(1)) >> [&] { replied = false; });
    if (!replied)
      FAIL("no reply within a second");
  }
};

} // namespace boxoffice::testing
