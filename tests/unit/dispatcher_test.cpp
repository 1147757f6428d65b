// The dispatcher on the test clock, with the outbox in memory and a scripted
// platform: order per aggregate, retries after their backoff, the circuit
// breaker, and delivery again of whatever was not settled.
//
// The outbox calls still go through the fake db (doing nothing there), so a
// scripted db failure fails an outbox call before it touches the rows, as a
// failed transaction would.
#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <map>

#include "actors/dispatcher_actor.hpp"
#include "fakes.hpp"
#include "util/clock.hpp"

using namespace boxoffice;

namespace {

enum class row_state { pending, delivered, dead };

struct stored_event {
  outbox_row row;
  row_state state = row_state::pending;
};

class memory_outbox final : public outbox_rows {
public:
  std::map<int64_t, stored_event> events;
  int scans = 0;

  std::vector<outbox_row> pending(int64_t after_id, int limit) override {
    scans++;
    std::vector<outbox_row> out;
    for (auto i = events.upper_bound(after_id);
         i != events.end() && static_cast<int>(out.size()) < limit; ++i)
      if (i->second.state == row_state::pending)
        out.push_back(i->second.row);
    return out;
  }
  storage::outbox_counts counts() override { return {}; }
  void mark_delivered(const std::vector<int64_t>& ids) override {
    for (auto id : ids)
      events.at(id).state = row_state::delivered;
  }
  void mark_retry(int64_t id, int attempts, const std::string&, int64_t next_attempt_ms) override {
    auto& row = events.at(id).row;
    row.attempts = attempts;
    row.next_attempt_ms = next_attempt_ms;
  }
  void mark_dead(int64_t id, const std::string&) override { events.at(id).state = row_state::dead; }
  std::string dead_letters(int) override { return "[]"; }
  int64_t replay_dead(int64_t id) override {
    auto& e = events.at(id);
    if (e.state != row_state::dead)
      return 0;
    e.state = row_state::pending;
    e.row.attempts = 0;
    e.row.next_attempt_ms = 0;
    return 1;
  }
  int64_t prune_delivered(int) override { return 0; }
};

// The in-memory outbox behind the fake db: the work runs in the dispatcher
// once the fake db said ok (the test coordinator runs everything on the
// test's thread), and not at all when it failed.
outbox_runner outbox_in_memory(std::shared_ptr<memory_outbox> outbox, db_actor db) {
  return [outbox, db](dispatcher_actor::pointer self, outbox_work work, std::function<void()> done,
                      std::function<void(caf::error&)> failed) {
    db_then(
      self, db, [](storage::pg_connection&) { return true; },
      [outbox, work, done](bool) {
        work(*outbox);
        done();
      },
      failed);
  };
}

// The data platform: answers each event from its script (by event id, then
// `usual`), or holds the answer back for the test to give.
struct platform_script {
  std::vector<std::string> received; // event ids, in the order sent
  std::map<std::string, std::deque<int>> answers;
  int usual = 200;
  std::optional<int> retry_after;
  bool holding = false;
  std::vector<delivery_callback> held;

  void answer_held(int status) {
    for (auto& callback : std::exchange(held, {}))
      callback(status, "", std::nullopt);
  }
};

std::string event_id_of(const outbound_event& ev) {
  for (auto& [name, value] : ev.headers)
    if (name == "X-Idempotency-Key")
      return value;
  return {};
}

event_transport fake_platform(std::shared_ptr<platform_script> p) {
  return [p](outbound_event ev, delivery_callback callback) {
    auto id = event_id_of(ev);
    p->received.push_back(id);
    if (p->holding) {
      p->held.push_back(std::move(callback));
      return;
    }
    auto status = p->usual;
    if (auto& scripted = p->answers[id]; !scripted.empty()) {
      status = scripted.front();
      scripted.pop_front();
    }
    callback(status, "", status >= 300 ? p->retry_after : std::nullopt);
  };
}

constexpr auto flush_time = std::chrono::milliseconds(20); // the delivered batch is stored

struct dispatcher_fixture : testing::fakes_fixture {
  std::shared_ptr<memory_outbox> outbox = std::make_shared<memory_outbox>();
  std::shared_ptr<platform_script> platform = std::make_shared<platform_script>();
  dispatcher_config cfg;

  int64_t test_now_ms() { return epoch_ms_at(sched.clock().now()); }

  outbox_row add_event(int64_t id, const std::string& aggregate, int64_t sequence) {
    outbox_row row;
    row.id = id;
    row.event_id = "e" + std::to_string(id);
    row.stream = "reservation";
    row.event_type = "RESERVATION_HELD";
    row.aggregate = aggregate;
    row.sequence = sequence;
    row.payload = "{}";
    row.age_base_ms = test_now_ms();
    outbox->events[id] = {row, row_state::pending};
    return row;
  }

  // What the db actor does after a commit: the rows, straight from it.
  void hand_over(const dispatcher_actor& d, std::vector<outbox_row> rows) {
    caf::anon_send(d, committed_events{std::move(rows)});
    run();
  }

  dispatcher_actor start() {
    auto d = track(
      sys.spawn(dispatcher_actor_impl, outbox_in_memory(outbox, db), cfg, fake_platform(platform)));
    run();
    return d;
  }

  void stop(const dispatcher_actor& d) {
    caf::anon_send_exit(d, caf::exit_reason::kill);
    run();
  }

  row_state state_of(int64_t id) { return outbox->events.at(id).state; }

  long sends_of(const std::string& event_id) {
    return std::count(platform->received.begin(), platform->received.end(), event_id);
  }

  // Where `event_id` was sent for the `nth` time (1-based), or -1.
  long nth_send(const std::string& event_id, int nth) {
    for (size_t i = 0; i < platform->received.size(); ++i)
      if (platform->received[i] == event_id && --nth == 0)
        return static_cast<long>(i);
    return -1;
  }
};

} // namespace

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a failed event holds back the later events of its aggregate only") {
  add_event(1, "reservation/1", 1);
  add_event(2, "reservation/1", 2);
  add_event(3, "reservation/2", 1);
  platform->answers["e1"] = {503};
  start();
  CHECK(platform->received == std::vector<std::string>{"e1", "e3"}); // e2 waits behind e1
  CHECK(outbox->events.at(1).row.attempts == 1);
  advance(std::chrono::milliseconds(250)); // past the first backoff (at most 200 ms)
  REQUIRE(sends_of("e1") == 2);
  REQUIRE(sends_of("e2") == 1);
  CHECK(nth_send("e2", 1) > nth_send("e1", 2));
  advance(flush_time);
  CHECK(state_of(1) == row_state::delivered);
  CHECK(state_of(2) == row_state::delivered);
  CHECK(state_of(3) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a retry waits for its backoff, Retry-After as a floor") {
  add_event(1, "reservation/1", 1);
  platform->answers["e1"] = {503, 503};
  platform->retry_after = 2;
  start();
  REQUIRE(sends_of("e1") == 1);
  // The jitter of the first attempt is at most 200 ms: the server's 2 s win.
  CHECK(outbox->events.at(1).row.next_attempt_ms - test_now_ms() == 2000);
  advance(std::chrono::milliseconds(1990));
  CHECK(sends_of("e1") == 1);
  advance(std::chrono::milliseconds(20));
  CHECK(sends_of("e1") == 2);
  CHECK(outbox->events.at(1).row.attempts == 2);
  advance(std::chrono::milliseconds(2010));
  CHECK(sends_of("e1") == 3);
  advance(flush_time);
  CHECK(state_of(1) == row_state::delivered);
}

TEST_CASE_METHOD(
  dispatcher_fixture,
  "dispatcher: the breaker opens after repeated failures, then lets one probe through") {
  cfg.breaker = {4, 50, std::chrono::seconds(10), 1};
  for (int64_t id = 1; id <= 4; ++id)
    add_event(id, "reservation/" + std::to_string(id), 1);
  platform->usual = 503;
  start();
  REQUIRE(platform->received.size() == 4); // four failures: the window is full and open
  advance(std::chrono::seconds(5));
  CHECK(platform->received.size() == 4); // the retries are due, but the breaker holds them
  platform->usual = 200;
  platform->holding = true;
  advance(std::chrono::milliseconds(5010)); // open_for is over: half-open
  REQUIRE(platform->received.size() == 5);  // exactly one probe
  platform->holding = false;
  platform->answer_held(200); // the probe succeeds: closed again
  run();
  CHECK(platform->received.size() == 8);
  advance(flush_time);
  for (int64_t id = 1; id <= 4; ++id)
    CHECK(state_of(id) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a delivery not stored as delivered is sent again by the next scan") {
  add_event(1, "reservation/1", 1);
  start();
  REQUIRE(sends_of("e1") == 1);
  db_calls->task.fail(make_error(booking_errc::storage_failure, "database down"));
  advance(flush_time); // marking it delivered fails: the row stays pending
  CHECK(state_of(1) == row_state::pending);
  db_calls->task.failures = 0;
  advance(std::chrono::seconds(1)); // the backstop scan
  CHECK(sends_of("e1") == 2);
  advance(flush_time);
  CHECK(state_of(1) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: after a restart, events in flight when it stopped are sent again") {
  add_event(1, "reservation/1", 1);
  add_event(2, "reservation/2", 1);
  platform->holding = true;
  stop(start()); // stopped with both deliveries unanswered
  CHECK(state_of(1) == row_state::pending);
  CHECK(state_of(2) == row_state::pending);
  platform->holding = false;
  platform->held.clear(); // answers for a dispatcher that is gone
  start();
  CHECK(sends_of("e1") == 2);
  CHECK(sends_of("e2") == 2);
  advance(flush_time);
  CHECK(state_of(1) == row_state::delivered);
  CHECK(state_of(2) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture, "dispatcher: a replayed dead letter is delivered again") {
  add_event(1, "reservation/1", 1);
  platform->answers["e1"] = {400};
  auto d = start();
  REQUIRE(state_of(1) == row_state::dead);
  client->send(d, replay_atom_v, int64_t{1});
  run();
  receive(
    client, [](int64_t n) { CHECK(n == 1); }, [](caf::error&) { FAIL("replay refused"); });
  run();
  CHECK(sends_of("e1") == 2);
  advance(flush_time);
  CHECK(state_of(1) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: rows handed over from their commit go out without a scan") {
  auto d = start();
  auto scans = outbox->scans;
  hand_over(d, {add_event(1, "reservation/1", 1), add_event(2, "order/1", 1)});
  CHECK(sends_of("e1") == 1);
  CHECK(sends_of("e2") == 1);
  advance(flush_time);
  hand_over(d, {add_event(3, "reservation/1", 2)}); // follows a settled row
  CHECK(sends_of("e3") == 1);
  CHECK(outbox->scans == scans); // no backstop tick came due in between
  advance(flush_time);
  for (int64_t id = 1; id <= 3; ++id)
    CHECK(state_of(id) == row_state::delivered);
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a handed row behind one in flight waits its turn") {
  auto d = start();
  platform->holding = true;
  hand_over(d, {add_event(1, "reservation/1", 1)});
  hand_over(d, {add_event(2, "reservation/1", 2)});
  CHECK(platform->received == std::vector<std::string>{"e1"});
  platform->holding = false;
  platform->answer_held(200);
  run();
  CHECK(platform->received == std::vector<std::string>{"e1", "e2"});
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a handed row whose predecessor it never saw waits for a scan") {
  auto d = start();
  // Sequence 1 committed, but its commit was never handed over (say, reported
  // lost): sequence 2 must not overtake it.
  add_event(1, "reservation/1", 1);
  auto scans = outbox->scans;
  hand_over(d, {add_event(2, "reservation/1", 2)});
  CHECK(outbox->scans == scans + 1);
  CHECK(platform->received == std::vector<std::string>{"e1", "e2"});
}

TEST_CASE_METHOD(dispatcher_fixture,
                 "dispatcher: a row a scan delivered first is not sent again when handed over") {
  add_event(1, "reservation/1", 1);
  auto d = start(); // its first scan finds and delivers row 1
  advance(flush_time);
  REQUIRE(state_of(1) == row_state::delivered);
  hand_over(d, {outbox->events.at(1).row});
  CHECK(sends_of("e1") == 1);
}
