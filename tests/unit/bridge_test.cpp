// The bridge actors' safety nets, on a toy bridge that uses the same guards as
// the api and admin actors: a throw while dispatching is answered 500 and the
// bridge carries on; a throw in a continuation ends the bridge (CAF 0.17 stops
// an actor after its exception handler), its supervisor starts a fresh one,
// and the exchange it held is answered 503 by the reply guard.
#include <catch2/catch.hpp>

#include <caf/event_based_actor.hpp>

#include "actor_fixture.hpp"
#include "http/api/api_actor.hpp"
#include "http/bridge_guard.hpp"
#include "http/bridge_supervisor.hpp"
#include "http/error_model.hpp"
#include "http/reply_guard.hpp"

using namespace boxoffice;
using namespace boxoffice::http;

namespace {

caf::behavior echo_impl(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}

struct toy_state {
  static inline const char* name = "toy-bridge";
  bridge_guard guard;
};

// "/throw" throws while dispatching, "/throw-later" in a continuation; every
// other path is answered 200.
api_actor::behavior_type toy_bridge(api_actor::stateful_pointer<toy_state> self, caf::actor echo) {
  install_exception_handler(self, "toy", &self->state.guard);
  return {
    [=](const api_exchange_ptr& ex) {
      dispatch_guarded("toy", self->state.guard, ex, [&] {
        if (ex->request.path == "/throw")
          throw std::runtime_error("thrown while dispatching");
        if (ex->request.path == "/throw-later") {
          self->request(echo, std::chrono::seconds(5), 1)
            .then([ex](int) { throw std::runtime_error("thrown in a continuation"); },
                  [ex](caf::error& err) { ex->respond(error_response(err)); });
          return;
        }
        ex->respond(json_response(200, "{}"));
      });
    },
  };
}

struct bridge_fixture : testing::actor_fixture {
  caf::actor echo = sys.spawn(echo_impl);
  std::shared_ptr<bridge_slot> slot = std::make_shared<bridge_slot>();
  std::shared_ptr<std::atomic<uint64_t>> restarts = std::make_shared<std::atomic<uint64_t>>(0);
  caf::actor supervisor;
  std::vector<int> answers;

  bridge_fixture() {
    auto e = echo;
    supervisor = spawn_bridge_supervisor(
      sys, "toy",
      [e](caf::actor_system& s) { return caf::actor_cast<caf::actor>(s.spawn(toy_bridge, e)); },
      slot, restarts);
    run();
  }

  ~bridge_fixture() {
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    run();
  }

  // Sends one request to whichever bridge is current, as the server does.
  void send(const std::string& path) {
    auto ex = std::make_shared<api_exchange>();
    ex->request.method = "GET";
    ex->request.path = path;
    ex->respond = guard_responder([this](api_response r) { answers.push_back(r.status); });
    caf::anon_send(slot->get(), std::move(ex));
    run();
  }
};

} // namespace

TEST_CASE_METHOD(bridge_fixture, "a throw while dispatching is answered 500 and the bridge lives") {
  auto first = slot->get();
  send("/throw");
  send("/ok");
  CHECK(answers == std::vector<int>{500, 200});
  CHECK(restarts->load() == 0);
  CHECK(slot->get() == first);
}

TEST_CASE_METHOD(bridge_fixture, "a bridge that dies is respawned; what it held is answered 503") {
  auto first = slot->get();
  send("/throw-later");
  CHECK(answers == std::vector<int>{503});
  CHECK(restarts->load() == 1);
  CHECK(slot->get() != first);
  send("/ok");
  send("/throw-later");
  send("/ok");
  CHECK(answers == std::vector<int>{503, 200, 503, 200});
  CHECK(restarts->load() == 2);
}

TEST_CASE_METHOD(bridge_fixture, "stopping the supervisor stops its bridge without a respawn") {
  bool bridge_down = false;
  auto watcher = sys.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(slot->get());
    self->set_down_handler([&](caf::down_msg&) { bridge_down = true; });
    return {[](int) {}};
  });
  run();
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  run();
  CHECK(bridge_down);
  CHECK(restarts->load() == 0);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
}

TEST_CASE("the reply guard answers exactly once") {
  std::vector<int> got;
  {
    auto respond = guard_responder([&](api_response r) { got.push_back(r.status); });
    respond(json_response(201, "{}"));
    respond(json_response(200, "{}")); // dropped
  }
  CHECK(got == std::vector<int>{201});
  {
    auto respond = guard_responder([&](api_response r) { got.push_back(r.status); });
    auto copy = respond; // copies share one promise
  }                      // dropped unanswered
  CHECK(got == std::vector<int>{201, 503});
}

TEST_CASE("error answers render whatever bytes they are given") {
  auto r = error_response(404, "NOT_FOUND", "no such resource: /\xff");
  CHECK(r.status == 404);
  CHECK(r.body.find("\xEF\xBF\xBD") != std::string::npos); // U+FFFD
}

TEST_CASE("the api bridge answers bytes that are not UTF-8 and keeps running") {
  // The server rejects such bytes before they reach the bridge; this checks
  // the bridge's own rendering too (it used to throw type_error.316 and die).
  testing::actor_fixture f;
  api_services services;
  services.bridge_restarts = std::make_shared<std::atomic<uint64_t>>(0);
  auto api = f.sys.spawn(api_actor_impl, services);
  std::vector<api_response> answers;
  auto send = [&](std::string method, std::string path) {
    auto ex = std::make_shared<api_exchange>();
    ex->request.method = std::move(method);
    ex->request.path = std::move(path);
    ex->respond = guard_responder([&](api_response r) { answers.push_back(std::move(r)); });
    caf::anon_send(api, std::move(ex));
    f.run();
  };
  send("GET", "/\xff");
  send("G\xff", "/api/v1/concerts");
  send("GET", "/health");
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].status == 404);
  CHECK(answers[1].status == 405);
  CHECK(answers[2].status == 200);
  CHECK(answers[2].body == R"({"bridgeRestarts":0,"status":"UP"})");
  caf::anon_send_exit(api, caf::exit_reason::user_shutdown);
  f.run();
}
