// The inspector's directory follows actors as they come and go. An entity
// actor that passivates is replaced by a fresh one under the same type/id; the
// old one's down message must not take the new one out of the directory.
#include <catch2/catch.hpp>

#include <caf/typed_event_based_actor.hpp>

#include "actor_fixture.hpp"
#include "actors/inspector_actor.hpp"

using namespace boxoffice;

namespace {

status_iface::behavior_type answering(status_iface::pointer, int64_t generation) {
  return {
    [generation](status_atom) {
      caf::settings s;
      s["type"] = "wallet";
      s["generation"] = generation;
      return s;
    },
  };
}

struct inspector_fixture : testing::actor_fixture {
  inspector_actor inspector = sys.spawn(inspector_actor_impl);
  caf::scoped_actor client{sys};

  caf::actor enrol(int64_t generation) {
    auto handle = caf::actor_cast<caf::actor>(sys.spawn(answering, generation));
    caf::anon_send(inspector, caf::put_atom_v, std::string{"wallet"}, std::string{"7"}, handle);
    run();
    return handle;
  }

  // The status the inspector shows for wallet/7: empty when it knows none.
  caf::settings shown() {
    client->send(inspector, caf::get_atom_v, std::string{"wallet"}, std::string{"7"});
    run();
    caf::settings out;
    receive(
      client, [&](caf::settings& s) { out = std::move(s); },
      [](caf::error&) { FAIL("the inspector refused"); });
    return out;
  }

  ~inspector_fixture() {
    caf::anon_send_exit(inspector, caf::exit_reason::kill);
    run();
  }
};

} // namespace

TEST_CASE_METHOD(inspector_fixture, "an old actor going down leaves its successor listed") {
  auto old_wallet = enrol(1);
  auto new_wallet = enrol(2); // the old one passivates while its successor starts
  caf::anon_send_exit(old_wallet, caf::exit_reason::user_shutdown);
  run();
  CHECK(caf::get_or(shown(), "generation", int64_t{0}) == 2);
  caf::anon_send_exit(new_wallet, caf::exit_reason::user_shutdown);
  run();
  CHECK(shown().empty());
}
