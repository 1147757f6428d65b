// collect_status asks every actor at once and answers once: with every
// status, and with an error entry for each actor that failed or stayed
// silent past the deadline, never waiting longer than that.
#include <catch2/catch.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <optional>

#include "actor_fixture.hpp"
#include "actors/collect_status.hpp"
#include "messages/errors.hpp"

using namespace boxoffice;

namespace {

constexpr auto deadline = std::chrono::milliseconds(500);

status_iface::behavior_type answering(status_iface::pointer, std::string type) {
  return {
    [type](status_atom) {
      caf::settings s;
      s["type"] = type;
      return s;
    },
  };
}

// Keeps every request's promise and never delivers it.
struct silent_state {
  std::vector<caf::typed_response_promise<caf::settings>> unanswered;
};

status_iface::behavior_type silent(status_iface::stateful_pointer<silent_state> self) {
  return {
    [self](status_atom) {
      auto rp = self->make_response_promise<caf::settings>();
      self->state.unanswered.push_back(rp);
      return rp;
    },
  };
}

status_iface::behavior_type failing(status_iface::pointer) {
  return {
    [](status_atom) -> caf::result<caf::settings> {
      return make_error(booking_errc::storage_failure, "database down");
    },
  };
}

using result_slot = std::shared_ptr<std::optional<collected_status>>;

// Runs one collection as it starts and keeps the result for the test.
caf::behavior collector(caf::event_based_actor* self, std::vector<status_target> targets,
                        result_slot result) {
  collect_status(self, targets, deadline,
                 [result](collected_status collected) { *result = std::move(collected); });
  return {
    [](caf::ok_atom) {}, // stays alive until the fixture stops it
  };
}

struct collect_fixture : testing::actor_fixture {
  std::vector<caf::actor> spawned;

  template <class... Ts> status_iface spawn(Ts&&... xs) {
    auto handle = sys.spawn(std::forward<Ts>(xs)...);
    spawned.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  result_slot collect(std::vector<status_target> targets) {
    auto result = std::make_shared<std::optional<collected_status>>();
    spawned.push_back(sys.spawn(collector, std::move(targets), result));
    return result;
  }

  static std::string entry(const collected_status& collected, const std::string& name,
                           const char* key) {
    return caf::get_or(collected.at(name), key, "");
  }

  // The deterministic scheduler runs nothing by itself: stop every actor here,
  // or the system's destructor waits for them forever.
  ~collect_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    run();
  }
};

} // namespace

TEST_CASE_METHOD(collect_fixture, "every actor answers: one entry each, at once") {
  auto result =
    collect({{"seat", spawn(answering, "seat")}, {"wallet", spawn(answering, "wallet")}});
  run();
  REQUIRE(result->has_value());
  CHECK((*result)->size() == 2);
  CHECK(entry(**result, "seat", "type") == "seat");
  CHECK(entry(**result, "wallet", "type") == "wallet");
}

TEST_CASE_METHOD(collect_fixture, "a silent actor shows as a timeout once the deadline passes") {
  auto result = collect({{"seat", spawn(answering, "seat")}, {"silent", spawn(silent)}});
  run();
  CHECK_FALSE(result->has_value()); // still waiting for the silent one
  advance(deadline - std::chrono::milliseconds(1));
  CHECK_FALSE(result->has_value());
  advance(std::chrono::milliseconds(1));
  REQUIRE(result->has_value());
  CHECK(entry(**result, "seat", "type") == "seat");
  CHECK(entry(**result, "silent", "error") == "timeout");
}

TEST_CASE_METHOD(collect_fixture, "a failing actor shows its error, the others their status") {
  auto result = collect({{"seat", spawn(answering, "seat")}, {"db", spawn(failing)}});
  run();
  REQUIRE(result->has_value());
  CHECK(entry(**result, "seat", "type") == "seat");
  CHECK(entry(**result, "db", "error") == "database down");
  CHECK_FALSE((*result)->at("db").contains("type"));
}

TEST_CASE_METHOD(collect_fixture, "nothing to ask: an empty result at once") {
  auto result = collect({});
  run();
  REQUIRE(result->has_value());
  CHECK((*result)->empty());
}
