#include "tools/loadgen/scenarios.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "tools/loadgen/partition.hpp"
#include "tools/loadgen/seat_stream.hpp"
#include "tools/loadgen/seatmap.hpp"

namespace boxoffice::loadgen {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

Clock::duration seconds_d(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::uint64_t micros(Clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

json parse(const Response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

template <class T> T get_or(const json& j, const char* key, T fallback) {
  if (!j.is_object())
    return fallback;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

std::string error_code_of(const Response& r) {
  const auto j = parse(r);
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return get_or<std::string>(j["error"], "code", "");
  return {};
}

bool ok(const Response& r) {
  return r.status >= 200 && r.status < 300;
}

std::string describe(const Response& r) {
  if (r.status == 0)
    return r.error;
  std::string s = std::to_string(r.status);
  const auto code = error_code_of(r);
  if (!code.empty())
    s += " " + code;
  return s;
}

std::uint64_t mix_seed(std::uint64_t seed, std::int64_t user) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(user);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool open_loop(const Options& o) {
  return o.scenario == Scenario::steady || (o.scenario == Scenario::outage && o.rate > 0);
}

Clock::time_point window_start(const Shared& s) {
  const auto ns = s.window_start_ns.load(std::memory_order_relaxed);
  return ns < 0 ? Clock::time_point{} : s.start + std::chrono::nanoseconds(ns);
}

} // namespace

double since_start(const Shared& s, Clock::time_point t) {
  return std::chrono::duration<double>(t - s.start).count();
}

Shared::Shared(const Options& o, const Target& t)
    : opt(o), target(t), prefix(o.target_url.path + "/api/v1") {
  for (const auto& url : o.target_urls)
    prefixes.push_back(url.path + "/api/v1");
  if (prefixes.empty())
    prefixes.push_back(prefix);
  // A fan mints its token when it starts; it must outlive the longest wait and the run.
  if (o.jwt_key)
    fan_tokens.emplace(*o.jwt_key, o.jwt_issuer, o.jwt_audience,
                       static_cast<std::int64_t>(std::ceil(o.duration + o.max_wait)) + 3600);
}

class Client;

// ---------------------------------------------------------------------------
// Worker: one io_context, a connection pool to each target and its statistics.

class Worker {
public:
  Worker(Shared& s, unsigned index, unsigned count) : s_(s), index_(index), count_(count) {
    const auto& urls = s.opt.target_urls;
    const std::size_t targets = std::max<std::size_t>(1, urls.size());
    // --connections is the total; spread it over the io threads and the targets
    // (pool g = index * targets + t of count * targets).
    const std::size_t pools = static_cast<std::size_t>(count) * targets;
    lanes_.resize(targets);
    for (std::size_t t = 0; t < targets; ++t) {
      const std::size_t g = static_cast<std::size_t>(index) * targets + t;
      PoolConfig pc;
      pc.connections = std::max<std::size_t>(1, s.opt.connections / pools +
                                                  (g < s.opt.connections % pools ? 1 : 0));
      pc.timeout = seconds_d(s.opt.timeout);
      pc.measure_from_enqueue = open_loop(s.opt);
      pc.max_shed_retries = s.opt.shed_retries;
      lanes_[t].hold_slots = pc.connections;
      lanes_[t].api = std::make_unique<Pool>(
        ioc, urls.empty() ? s.opt.target_url : urls[t], pc,
        [this, t](const Request& rq, const Response& r) { observe(t, rq, r); });
    }
    stats.targets.resize(targets);
    if (index_ == 0 && s.outage) {
      PoolConfig dc;
      dc.connections = 1;
      dc.timeout = 10s;
      dc.max_shed_retries = 0;
      dpsim = std::make_unique<Pool>(ioc, *s.opt.dpsim_url, dc);
    }
  }

  void start();
  void run() { ioc.run(); }

  Shared& shared() { return s_; }

  /// The connection pool to target `t` (Options::targets).
  Pool& api(std::size_t t) { return *lanes_[t].api; }

  void hold_answered(bool success) {
    auto& c = s_.counters;
    ++c.hold_attempts;
    ++(success ? c.holds : c.hold_conflicts);
    const auto now = Clock::now();
    const double at = std::max(0.0, since_start(s_, now));
    stats.hold_answered(static_cast<std::size_t>(at), success);
    if (success)
      stats.booked_step(false, static_cast<std::size_t>(at * 1000));
    last_hold_answer = std::max(last_hold_answer, now);
  }

  void payment_answered(bool paid) {
    const auto now = Clock::now();
    if (paid)
      stats.booked_step(true, static_cast<std::size_t>(std::max(0.0, since_start(s_, now)) * 1000));
    last_pay_answer = std::max(last_pay_answer, now);
  }

  /// holds: at most one hold per connection in flight; the others wait here rather than in
  /// the pool's queue, so that a client decides whether to send only when a connection is
  /// free, and the window ends soon after --duration instead of after the whole queue. `send`
  /// returns true when it sent a hold to target `t` (the slot is taken until
  /// hold_slot_done(t)).
  void hold_slot(std::size_t t, std::function<bool()> send) {
    lanes_[t].hold_waiters.push_back(std::move(send));
    pump_hold_slots();
  }
  void hold_slot_done(std::size_t t) {
    --lanes_[t].holds_in_flight;
    pump_hold_slots();
  }

  /// holds, payments: `c` has finished its setup and waits for the window.
  void ready(std::shared_ptr<Client> c) { ready_.push_back(std::move(c)); }
  /// Opens the timed window for this thread's ready clients (posted by Shared::release).
  void go();

  asio::io_context ioc;
  Stats stats;
  std::unique_ptr<Pool> dpsim;
  Clock::time_point last_hold_answer{};
  Clock::time_point last_pay_answer{};

private:
  // One target's connection pool and the holds waiting for one of its connections.
  struct Lane {
    std::unique_ptr<Pool> api;
    std::deque<std::function<bool()>> hold_waiters;
    std::size_t holds_in_flight = 0;
    std::size_t hold_slots = 1;
  };

  void observe(std::size_t t, const Request& rq, const Response& r) {
    stats.target_answered(t, r.status);
    auto& c = s_.counters;
    ++c.requests;
    if (r.status == 429 || r.status == 503)
      ++c.shed;
    else if (r.status == 0 || r.status >= 500)
      ++c.errors;
    const auto us = micros(r.latency);
    c.latency.record(us);
    stats.record(rq.endpoint, r.status, us);
    if (s_.outage && rq.endpoint == "POST /payments") {
      const bool during = r.started >= s_.outage_begin && r.started < s_.outage_end;
      stats.record_phase(during ? "POST /payments during outage" : "POST /payments outside outage",
                         us);
    }
  }

  // Takes the targets in turn, one waiting hold each, while they have a free slot.
  void pump_hold_slots() {
    for (bool sent = true; sent;) {
      sent = false;
      for (auto& lane : lanes_) {
        if (lane.hold_waiters.empty() || lane.holds_in_flight >= lane.hold_slots)
          continue;
        if (!hold_due())
          return;
        auto send = std::move(lane.hold_waiters.front());
        lane.hold_waiters.pop_front();
        ++lane.holds_in_flight;
        if (!send())
          --lane.holds_in_flight;
        sent = true;
      }
    }
  }

  // holds --rate: whether the next hold may go now (this thread's share of
  // the rate); if not, a timer pumps again when it may.
  bool hold_due() {
    if (s_.opt.scenario != Scenario::holds || s_.opt.rate <= 0)
      return true;
    const auto now = Clock::now();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(count_ / s_.opt.rate));
    if (next_hold_at_ == Clock::time_point{} || next_hold_at_ < now - interval)
      next_hold_at_ = now; // no burst to catch up after a stall
    if (next_hold_at_ <= now) {
      next_hold_at_ += interval;
      return true;
    }
    if (!pace_armed_) {
      pace_armed_ = true;
      if (!pace_timer_)
        pace_timer_ = std::make_unique<asio::steady_timer>(ioc);
      pace_timer_->expires_at(next_hold_at_);
      pace_timer_->async_wait([this](const boost::system::error_code& ec) {
        pace_armed_ = false;
        if (!ec)
          pump_hold_slots();
      });
    }
    return false;
  }

  void spawn(std::int64_t index, Clock::time_point arrival);
  void arrivals_tick();
  void inject_fault();

  Shared& s_;
  unsigned index_;
  unsigned count_;
  std::int64_t next_arrival_ = 0;
  std::int64_t total_arrivals_ = 0;
  std::unique_ptr<asio::steady_timer> arrival_timer_;
  std::unique_ptr<asio::steady_timer> fault_timer_;
  std::vector<std::shared_ptr<Client>> ready_;
  std::vector<Lane> lanes_; // by target
  Clock::time_point next_hold_at_{};
  std::unique_ptr<asio::steady_timer> pace_timer_;
  bool pace_armed_ = false;
  // Keeps run() going while every local client waits for the others' setup.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
};

// ---------------------------------------------------------------------------
// Client: a fan with a user id and a queue token. Callback-driven; every
// pending callback holds a shared_ptr to it, so it lives exactly as long as it
// has work in flight or a timer armed.

enum class Outcome { booked, held, sold_out, gave_up, insufficient, stopped, failed };

class Client : public std::enable_shared_from_this<Client> {
public:
  Client(Worker& w, std::int64_t user, Clock::time_point arrival)
      : w_(w), s_(w.shared()), user_(user), rng_(mix_seed(s_.opt.seed, user)), timer_(w.ioc),
        arrival_(arrival), open_loop_(open_loop(s_.opt)),
        target_(target_index(user - s_.opt.user_base, s_.prefixes.size())) {}
  virtual ~Client() = default;

  void start() {
    ++s_.counters.fans_started;
    w_.stats.target_fan(target_);
    if (!has_work())
      return finish(Outcome::sold_out);
    if (wants_points() && s_.opt.points > 0)
      charge();
    else
      take_token();
  }

  /// holds, payments: the timed window opens.
  virtual void go() {}

protected:
  using Handler = std::function<void(Response&&)>;

  virtual bool has_work() const { return true; }
  virtual bool wants_points() const { return true; }
  virtual void on_admitted() = 0;
  virtual bool stopping() const { return false; }
  virtual void on_paid() { finish(Outcome::booked); }
  virtual void on_finished() {}

  void call(http::verb m, const std::string& path, const json& body, bool with_token, Headers extra,
            Handler h) {
    Request rq;
    rq.method = m;
    rq.target = s_.prefixes[target_] + path;
    if (!body.is_null())
      rq.body = body.dump();
    rq.headers = std::move(extra);
    if (with_token && !token_.empty())
      rq.headers.emplace_back("X-Queue-Token", token_);
    if (s_.fan_tokens) {
      if (authorization_.empty())
        authorization_ = s_.fan_tokens->authorization(user_); // once a fan
      rq.headers.emplace_back("Authorization", authorization_);
    }
    const auto verb = http::to_string(m);
    rq.endpoint = std::string(verb.data(), verb.size()) + " " + normalise_path(path);
    if (first_request_) {
      first_request_ = false;
      if (open_loop_)
        rq.intended = arrival_;
    }
    auto self = shared_from_this();
    w_.api(target_).request(std::move(rq),
                            [self, h = std::move(h)](Response&& r) { h(std::move(r)); });
  }

  void after(Clock::duration d, std::function<void()> f) {
    timer_.expires_after(d);
    auto self = shared_from_this();
    timer_.async_wait([self, f = std::move(f)](const boost::system::error_code& ec) {
      if (!ec)
        f();
    });
  }

  /// Retries a step after an unexpected answer while the fan's error budget lasts.
  bool retry_step(const Response&, std::function<void()> step) {
    if (++errors_ > max_errors_)
      return false;
    after(std::chrono::milliseconds(100 * errors_), std::move(step));
    return true;
  }

  /// 401: take a token again; 403: not (or no longer) active, poll again.
  bool token_problem(const Response& r) {
    if (r.status != 401 && r.status != 403)
      return false;
    if (++token_problems_ > 5)
      return false;
    if (r.status == 401) {
      token_.clear();
      take_token();
    } else {
      after(500ms, [this] { poll(); });
    }
    return true;
  }

  void charge() {
    call(http::verb::post, "/points/charge", {{"userId", user_}, {"amount", s_.opt.points}}, false,
         {}, [this](Response&& r) {
           if (ok(r)) {
             s_.counters.points_charged += static_cast<std::uint64_t>(s_.opt.points);
             return take_token();
           }
           if (retry_step(r, [this] { charge(); }))
             return;
           take_token(); // carry on without points; the payment will say so
         });
  }

  void take_token() {
    if (stopping())
      return finish(Outcome::stopped);
    if (++tokens_taken_ > 4)
      return fail_text("took a queue token four times");
    const auto now = Clock::now();
    if (first_token_at_ == Clock::time_point{}) {
      first_token_at_ = now;
      wait_deadline_ = now + seconds_d(s_.opt.max_wait);
    }
    call(http::verb::post, "/queue/token", {{"userId", user_}}, false, {}, [this](Response&& r) {
      if (ok(r)) {
        const auto j = parse(r);
        token_ = get_or<std::string>(j, "token", "");
        if (token_.empty())
          return fail(r, "queue token without token");
        return on_queue_state(j);
      }
      if (retry_step(r, [this] {
            --tokens_taken_;
            take_token();
          }))
        return;
      fail(r, "queue token");
    });
  }

  void on_queue_state(const json& j) {
    const auto status = get_or<std::string>(j, "status", "");
    if (status == "ACTIVE")
      return admitted();
    if (status == "EXPIRED") {
      token_.clear();
      return take_token();
    }
    const auto ms =
      std::clamp<std::int64_t>(get_or<std::int64_t>(j, "pollAfterMs", 1000), 10, 30000);
    after(std::chrono::milliseconds(ms), [this] { poll(); });
  }

  void poll() {
    if (stopping())
      return finish(Outcome::stopped);
    if (Clock::now() > wait_deadline_)
      return fail_text("still waiting after --max-wait");
    call(http::verb::get, "/queue/status", nullptr, true, {}, [this](Response&& r) {
      if (ok(r))
        return on_queue_state(parse(r));
      if (r.status == 401 && ++token_problems_ <= 5) {
        token_.clear();
        return take_token();
      }
      if (retry_step(r, [this] { poll(); }))
        return;
      fail(r, "queue status");
    });
  }

  void admitted() {
    if (!admitted_) {
      admitted_ = true;
      ++s_.counters.admitted;
      w_.stats.record_phase("admission wait (token to ACTIVE)",
                            micros(Clock::now() - first_token_at_));
    }
    on_admitted();
  }

  /// POST /reservations for `seat`; calls back with the answer after bookkeeping.
  void hold_seat(int seat, Handler then) {
    call(http::verb::post, "/reservations",
         {{"userId", user_}, {"scheduleId", s_.target.schedule_id}, {"seatNumber", seat}}, true, {},
         [this, then = std::move(then)](Response&& r) {
           if (r.status == 201 || r.status == 200) {
             const auto j = parse(r);
             reservation_ = get_or<std::int64_t>(j, "reservationId", 0);
             if (reservation_ == 0)
               return fail(r, "hold answer without reservationId");
             w_.hold_answered(true);
           } else if (r.status == 409) {
             w_.hold_answered(false);
           }
           then(std::move(r));
         });
  }

  void pay() {
    if (idempotency_key_.empty())
      idempotency_key_ = "loadgen-" + std::to_string(user_) + "-" + std::to_string(reservation_);
    call(http::verb::post, "/payments", {{"userId", user_}, {"reservationId", reservation_}}, true,
         {{"Idempotency-Key", idempotency_key_}}, [this](Response&& r) {
           w_.payment_answered(r.status == 201 || r.status == 200);
           if (r.status == 201 || r.status == 200) {
             paid_ = true;
             auto& c = s_.counters;
             ++c.payments;
             const auto amount = get_or<std::int64_t>(parse(r), "amount", 0);
             if (amount > 0)
               c.points_paid += static_cast<std::uint64_t>(amount);
             w_.stats.booked_reservations.push_back(reservation_);
             w_.stats.record_phase("booking (arrival to paid)", micros(Clock::now() - arrival_));
             return on_paid();
           }
           if (r.status == 409) {
             if (error_code_of(r) == "INSUFFICIENT_BALANCE") {
               ++s_.counters.insufficient_balance;
               return finish(Outcome::insufficient);
             }
             // e.g. the same Idempotency-Key still in flight: ask again.
             if (++pay_retries_ <= 5) {
               ++s_.counters.payment_retries;
               return after(200ms, [this] { pay(); });
             }
             return fail(r, "payment");
           }
           if (r.status == 0 || r.status >= 500) {
             // Unknown outcome: the retry carries the same key and must get the stored answer.
             if (++pay_retries_ <= 5) {
               ++s_.counters.payment_retries;
               return after(std::chrono::milliseconds(200 * pay_retries_), [this] { pay(); });
             }
             return fail(r, "payment");
           }
           if (token_problem(r))
             return; // on_admitted() pays again
           fail(r, "payment");
         });
  }

  void fail(const Response& r, const char* what) {
    fail_text(std::string(what) + ": " + describe(r));
  }

  void fail_text(const std::string& why) {
    if (done_)
      return;
    if (s_.counters.failed < 5)
      std::cerr << (s_.opt.progress ? "\n" : "") << "fan " << user_ << " gave up: " << why << "\n";
    finish(Outcome::failed);
  }

  /// holds, payments: setup is over; wait for the window (go()).
  void report_ready() {
    if (setup_reported_)
      return;
    setup_reported_ = true;
    w_.ready(shared_from_this());
    s_.setup_done();
  }

  void finish(Outcome o) {
    if (done_)
      return;
    done_ = true;
    if (s_.barrier && !setup_reported_) {
      setup_reported_ = true; // dropped out before the window: do not hold it up
      s_.setup_done();
    }
    auto& c = s_.counters;
    switch (o) {
      case Outcome::booked:
      case Outcome::held:
      case Outcome::stopped:
        break;
      case Outcome::sold_out:
        ++c.sold_out;
        break;
      case Outcome::gave_up:
        ++c.gave_up;
        break;
      case Outcome::insufficient:
        break; // counted where seen
      case Outcome::failed:
        ++c.failed;
        break;
    }
    ++c.fans_done;
    timer_.cancel();
    on_finished();
  }

  Worker& w_;
  Shared& s_;
  std::int64_t user_;
  std::mt19937_64 rng_;
  asio::steady_timer timer_;
  Clock::time_point arrival_;
  bool open_loop_;
  std::size_t target_; // index into Options::targets: every request of this fan goes there
  bool first_request_ = true;
  bool admitted_ = false;
  bool done_ = false;
  bool paid_ = false;
  bool setup_reported_ = false;
  std::string token_;
  std::string authorization_; // "Bearer <JWT>" with sub = user_ (--jwt-secret-file)
  std::string idempotency_key_;
  std::int64_t reservation_ = 0;
  int tokens_taken_ = 0;
  int token_problems_ = 0;
  int errors_ = 0;
  int max_errors_ = 5;
  int pay_retries_ = 0;
  Clock::time_point first_token_at_{};
  Clock::time_point wait_deadline_{};
};

// The booking funnel: charge, token, wait, seat map, hold (other seats on 409), pay.
class FunnelFan final : public Client {
public:
  using Client::Client;

private:
  void on_admitted() override {
    if (reservation_ != 0 && !paid_)
      return pay(); // re-admitted while holding a seat
    read_seats();
  }

  void read_seats() {
    // The query string does not reach the endpoint name (normalise_path drops it), so both
    // forms are counted as GET /concerts/{id}/schedules/{id}/seats.
    const bool compact = s_.opt.seat_format == SeatFormat::compact;
    const auto path = "/concerts/" + std::to_string(s_.target.concert_id) + "/schedules/" +
                      std::to_string(s_.target.schedule_id) + "/seats" +
                      (compact ? "?format=compact" : "");
    call(http::verb::get, path, nullptr, true, {}, [this, compact](Response&& r) {
      if (ok(r)) {
        SeatScan scan;
        const auto sample = static_cast<std::size_t>(std::max(32, s_.opt.hold_tries * 4));
        const bool read = compact ? scan_compact_seat_map(r.body, sample, rng_, scan)
                                  : scan_seat_map(r.body, sample, rng_, scan);
        if (!read)
          return fail(r, "unreadable seat map");
        candidates_ = std::move(scan.sample);
        if (candidates_.empty())
          return finish(Outcome::sold_out);
        return hold();
      }
      if (token_problem(r))
        return;
      if (retry_step(r, [this] { read_seats(); }))
        return;
      fail(r, "seat map");
    });
  }

  void hold() {
    if (candidates_.empty())
      return finish(tries_ ? Outcome::gave_up : Outcome::sold_out);
    if (tries_ >= s_.opt.hold_tries)
      return finish(Outcome::gave_up);
    std::uniform_int_distribution<std::size_t> pick(0, candidates_.size() - 1);
    const auto i = pick(rng_);
    const int seat = candidates_[i];
    candidates_[i] = candidates_.back();
    candidates_.pop_back();
    ++tries_;
    hold_seat(seat, [this, seat](Response&& r) {
      if (done_)
        return;
      if (r.status == 201 || r.status == 200)
        return pay();
      if (r.status == 409)
        return hold(); // taken: try another
      if (token_problem(r))
        return; // on_admitted() reads the map again
      if (retry_step(r, [this, seat] {
            candidates_.push_back(seat);
            --tries_;
            hold();
          }))
        return;
      fail(r, "hold");
    });
  }

  std::vector<int> candidates_;
  int tries_ = 0;
};

// Hot-seat: hammer holds on seats 1..--seats until the storm window ends.
class HotSeatClient final : public Client {
public:
  HotSeatClient(Worker& w, std::int64_t user, Clock::time_point arrival)
      : Client(w, user, arrival) {
    max_errors_ = 50;
  }

private:
  bool wants_points() const override { return s_.opt.pay; }

  bool stopping() const override {
    const auto start = s_.storm_start_ns.load(std::memory_order_relaxed);
    if (start < 0)
      return false;
    return Clock::now() >= s_.start + std::chrono::nanoseconds(start) + seconds_d(s_.opt.duration);
  }

  void on_admitted() override {
    if (reservation_ != 0 && !paid_)
      return pay();
    attempt();
  }

  void attempt() {
    std::int64_t expected = -1;
    const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s_.start).count();
    s_.storm_start_ns.compare_exchange_strong(expected, now_ns);
    if (stopping())
      return finish(Outcome::stopped);
    std::uniform_int_distribution<int> pick(1, s_.opt.seats);
    hold_seat(pick(rng_), [this](Response&& r) {
      if (done_)
        return;
      if (r.status == 201 || r.status == 200) {
        if (s_.opt.pay)
          return pay();
        return finish(Outcome::held);
      }
      if (r.status == 409)
        return attempt();
      if (token_problem(r))
        return;
      if (retry_step(r, [this] { attempt(); }))
        return;
      fail(r, "hold");
    });
  }
};

// Holds: after an untimed setup (token, ACTIVE), every client holds its own
// distinct seats (partition_seats, at most --holds-per-user) one after another
// until they are all held or the window (--duration) ends.
class HoldsClient final : public Client {
public:
  HoldsClient(Worker& w, std::int64_t user, std::int64_t index, Clock::time_point arrival)
      : Client(w, user, arrival),
        seats_(partition_seats(s_.seat_range, s_.user_count, index, s_.opt.holds_per_user)) {
    max_errors_ = 50;
  }

  void go() override { next(); }

private:
  bool has_work() const override { return !seats_.empty(); }
  bool wants_points() const override { return false; }

  bool stopping() const override {
    const auto opened = window_start(s_);
    return opened != Clock::time_point{} && Clock::now() >= opened + seconds_d(s_.opt.duration);
  }

  void on_admitted() override {
    if (!setup_reported_)
      return report_ready();
    next(); // admitted again after a token problem inside the window
  }

  void on_finished() override { --s_.holders_left; }

  void next() {
    if (stopping())
      return finish(Outcome::stopped);
    if (next_ >= seats_.size())
      return finish(Outcome::held);
    auto self = std::static_pointer_cast<HoldsClient>(shared_from_this());
    w_.hold_slot(target_, [self] { return self->send_hold(); });
  }

  bool send_hold() {
    if (done_)
      return false;
    if (stopping()) {
      finish(Outcome::stopped);
      return false;
    }
    if (s_.opt.streams > 0)
      s_.hold_sent(seats_[next_], Clock::now());
    hold_seat(seats_[next_], [this](Response&& r) {
      w_.hold_slot_done(target_);
      if (done_)
        return;
      if (r.status == 201 || r.status == 200) {
        ++next_;
        return next();
      }
      if (r.status == 409) {
        if (error_code_of(r) == "HOLD_LIMIT_REACHED") {
          ++s_.counters.hold_limit; // --holds-per-user above the server's hold.max_per_user
          return finish(Outcome::gave_up);
        }
        ++next_; // taken before the run (a schedule used twice): go on with the next seat
        return next();
      }
      if (token_problem(r))
        return; // on_admitted() goes on
      if (retry_step(r, [this] { next(); }))
        return;
      fail(r, "hold");
    });
    return true;
  }

  std::vector<int> seats_;
  std::size_t next_ = 0;
};

// Payments: setup (charge, token, ACTIVE, hold one distinct seat) is untimed;
// then every client pays its hold at once, with an Idempotency-Key.
class PaymentsClient final : public Client {
public:
  PaymentsClient(Worker& w, std::int64_t user, std::int64_t index, Clock::time_point arrival)
      : Client(w, user, arrival), seats_(partition_seats(s_.seat_range, s_.user_count, index, 1)) {}

  void go() override { pay(); }

private:
  bool has_work() const override { return !seats_.empty(); }

  void on_admitted() override {
    if (reservation_ == 0)
      return hold();
    if (!setup_reported_)
      return report_ready();
    if (!paid_)
      pay(); // admitted again after a token problem inside the window
  }

  void hold() {
    hold_seat(seats_.front(), [this](Response&& r) {
      if (done_)
        return;
      if (r.status == 201 || r.status == 200)
        return report_ready();
      if (token_problem(r))
        return; // on_admitted() holds again
      if (r.status != 409 && retry_step(r, [this] { hold(); }))
        return;
      fail(r, "hold before paying");
    });
  }

  std::vector<int> seats_;
};

// A fan watching the live seat map (holds --streams): takes a token like any
// fan, opens the stream once ACTIVE, is ready for the window once its snapshot
// came, then times each HELD seat event against when that hold was sent. It
// closes a second after the last holder finished.
class StreamClient final : public Client {
public:
  using Client::Client;

  void go() override { watch_holders(); }

private:
  bool wants_points() const override { return false; }

  void on_admitted() override {
    if (!stream_)
      open_stream();
  }

  void on_finished() override {
    if (stream_)
      stream_->close();
    stream_.reset();
  }

  void open_stream() {
    auto self = std::static_pointer_cast<StreamClient>(shared_from_this());
    const auto target = s_.prefixes[target_] + "/concerts/" + std::to_string(s_.target.concert_id) +
                        "/schedules/" + std::to_string(s_.target.schedule_id) +
                        "/seats/stream?format=compact";
    stream_ = std::make_shared<SeatStream>(
      w_.ioc, w_.api(target_).url(), target, token_,
      [self](std::string_view type, std::string_view data) { self->on_event(type, data); },
      [self](const std::string& why) { self->on_end(why); });
    stream_->open();
  }

  void on_event(std::string_view type, std::string_view data) {
    if (type == "snapshot") {
      if (!snapshot_) {
        snapshot_ = true;
        ++s_.counters.streams_open;
        report_ready();
      }
      return;
    }
    if (type != "seat")
      return;
    const auto j = json::parse(data, nullptr, false);
    if (!j.is_object() || get_or<std::string>(j, "status", "") != "HELD")
      return;
    const auto sent = s_.hold_sent_at(get_or<int>(j, "seatNumber", 0));
    if (!sent)
      return; // not one of this run's holds
    ++s_.counters.stream_events;
    w_.stats.record_phase("stream: hold sent to seen", micros(Clock::now() - *sent));
  }

  // Called inside the stream: it is dropped (stream_.reset()) in finish().
  void on_end(const std::string& why) {
    if (why.empty() || done_)
      return;
    if (snapshot_)
      ++s_.counters.streams_dropped;
    auto self = shared_from_this();
    asio::post(w_.ioc, [self, this, why] { fail_text("stream " + why); });
  }

  void watch_holders() {
    if (done_)
      return;
    if (s_.holders_left.load() <= 0)
      return after(1s, [this] { finish(Outcome::stopped); });
    after(100ms, [this] { watch_holders(); });
  }

  std::shared_ptr<SeatStream> stream_;
  bool snapshot_ = false;
};

// ---------------------------------------------------------------------------

void Worker::spawn(std::int64_t index, Clock::time_point arrival) {
  const auto user = s_.opt.user_base + index;
  std::shared_ptr<Client> c;
  if (index >= s_.user_count)
    c = std::make_shared<StreamClient>(*this, user, arrival);
  else if (s_.opt.scenario == Scenario::hot_seat)
    c = std::make_shared<HotSeatClient>(*this, user, arrival);
  else if (s_.opt.scenario == Scenario::holds)
    c = std::make_shared<HoldsClient>(*this, user, index, arrival);
  else if (s_.opt.scenario == Scenario::payments)
    c = std::make_shared<PaymentsClient>(*this, user, index, arrival);
  else
    c = std::make_shared<FunnelFan>(*this, user, arrival);
  c->start();
}

void Worker::go() {
  std::int64_t expected = -1;
  const auto now_ns =
    std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s_.start).count();
  s_.window_start_ns.compare_exchange_strong(expected, now_ns);
  guard_.reset();
  auto ready = std::move(ready_);
  ready_.clear();
  for (auto& c : ready)
    c->go();
}

void Worker::start() {
  if (s_.barrier)
    guard_.emplace(asio::make_work_guard(ioc));
  if (index_ == 0 && dpsim) {
    fault_timer_ = std::make_unique<asio::steady_timer>(ioc, s_.outage_begin);
    fault_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec)
        inject_fault();
    });
  }
  if (open_loop(s_.opt)) {
    total_arrivals_ = s_.user_count;
    next_arrival_ = index_;
    arrival_timer_ = std::make_unique<asio::steady_timer>(ioc);
    asio::post(ioc, [this] { arrivals_tick(); });
  } else {
    asio::post(ioc, [this] {
      for (std::int64_t i = index_; i < s_.user_count + s_.opt.streams; i += count_)
        spawn(i, s_.start);
    });
  }
}

void Worker::arrivals_tick() {
  const auto interval = std::chrono::duration<double>(1.0 / s_.opt.rate);
  auto intended = [&](std::int64_t i) {
    return s_.start +
           std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
  };
  const auto now = Clock::now();
  while (next_arrival_ < total_arrivals_ && intended(next_arrival_) <= now) {
    spawn(next_arrival_, intended(next_arrival_)); // late arrivals keep their intended time
    next_arrival_ += count_;
  }
  if (next_arrival_ < total_arrivals_) {
    arrival_timer_->expires_at(intended(next_arrival_));
    arrival_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec)
        arrivals_tick();
    });
  }
}

void Worker::inject_fault() {
  Request rq;
  rq.method = http::verb::post;
  rq.target = dpsim->url().path + "/faults";
  const double secs = s_.opt.outage_seconds;
  rq.body = (secs == std::floor(secs) ? json{{"refuseSeconds", static_cast<std::int64_t>(secs)}}
                                      : json{{"refuseSeconds", secs}})
              .dump();
  std::cerr << (s_.opt.progress ? "\n" : "") << "[" << since_start(s_, Clock::now())
            << "s] data platform outage: refusing for " << s_.opt.outage_seconds << " s\n";
  dpsim->request(std::move(rq), [this](Response&& r) {
    s_.fault_status = r.status;
    if (!ok(r))
      std::cerr << (s_.opt.progress ? "\n" : "") << "fault injection failed: POST "
                << dpsim->url().host << ":" << dpsim->url().port << "/faults -> " << describe(r)
                << "\n";
  });
}

RunResult run_scenario(Shared& shared) {
  const auto& opt = shared.opt;
  shared.user_count =
    open_loop(opt) ? static_cast<std::int64_t>(std::llround(opt.rate * opt.duration)) : opt.users;
  shared.outage = opt.scenario == Scenario::outage;
  shared.barrier = opt.scenario == Scenario::holds || opt.scenario == Scenario::payments;
  if (shared.barrier) {
    shared.seat_range = opt.seats_given ? opt.seats : shared.target.total_seats;
    if (shared.seat_range <= 0)
      throw std::runtime_error("the schedule reports no totalSeats; pass --seats");
    shared.setup_pending = shared.user_count + opt.streams;
    shared.holders_left = shared.user_count;
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < opt.threads; ++i)
    workers.push_back(std::make_unique<Worker>(shared, i, opt.threads));
  shared.release = [&workers] {
    for (auto& w : workers)
      asio::post(w->ioc, [w = w.get()] { w->go(); });
  };

  shared.start = Clock::now();
  if (shared.outage) {
    shared.outage_begin = shared.start + seconds_d(opt.outage_start);
    shared.outage_end = shared.outage_begin + seconds_d(opt.outage_seconds);
  }
  for (auto& w : workers)
    w->start();
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers.size(); ++i)
    threads.emplace_back([&w = *workers[i]] { w.run(); });
  workers[0]->run();
  for (auto& t : threads)
    t.join();

  RunResult result;
  result.seconds = since_start(shared, Clock::now());
  Clock::time_point last_hold{}, last_pay{};
  for (auto& w : workers) {
    result.stats.merge(w->stats);
    last_hold = std::max(last_hold, w->last_hold_answer);
    last_pay = std::max(last_pay, w->last_pay_answer);
  }
  shared.release = nullptr;
  const auto opened = window_start(shared);
  if (shared.barrier && opened != Clock::time_point{}) {
    result.setup_seconds = since_start(shared, opened);
    const auto last = opt.scenario == Scenario::holds ? last_hold : last_pay;
    if (last > opened)
      result.window_seconds = std::chrono::duration<double>(last - opened).count();
  }
  const auto storm_ns = shared.storm_start_ns.load();
  if (storm_ns >= 0 && last_hold != Clock::time_point{})
    result.storm_seconds =
      std::chrono::duration<double>(last_hold - (shared.start + std::chrono::nanoseconds(storm_ns)))
        .count();
  return result;
}

// ---------------------------------------------------------------------------

std::optional<Target> discover(const Options& opt, std::string& error) {
  const std::string prefix = opt.target_url.path + "/api/v1";
  auto get = [&](const std::string& path) -> std::optional<json> {
    Response r;
    for (int attempt = 0; attempt < 5; ++attempt) {
      r = http_call(opt.target_url, http::verb::get, prefix + path, {}, {}, seconds_d(opt.timeout));
      if (r.status != 0 && r.status != 503 && r.status != 429)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(
        r.retry_after > 0 ? static_cast<long>(std::min(r.retry_after, 10.0) * 1000) : 1000));
    }
    if (r.status != 200) {
      error = "GET " + prefix + path + " -> " + describe(r);
      return std::nullopt;
    }
    auto j = parse(r);
    if (!j.is_object()) {
      error = "GET " + prefix + path + ": not a JSON object";
      return std::nullopt;
    }
    return j;
  };

  std::vector<std::pair<std::int64_t, std::string>> concerts;
  if (opt.concert != 0) {
    concerts.emplace_back(opt.concert, "");
  } else {
    const auto j = get("/concerts");
    if (!j)
      return std::nullopt;
    if (!j->contains("concerts") || !(*j)["concerts"].is_array()) {
      error = "GET /concerts: no \"concerts\" array";
      return std::nullopt;
    }
    for (const auto& c : (*j)["concerts"])
      concerts.emplace_back(get_or<std::int64_t>(c, "id", 0), get_or<std::string>(c, "title", ""));
    if (concerts.empty()) {
      error = "GET /concerts: no concerts (is the catalogue seeded?)";
      return std::nullopt;
    }
  }
  for (const auto& [cid, title] : concerts) {
    const auto j = get("/concerts/" + std::to_string(cid) + "/schedules");
    if (!j)
      return std::nullopt;
    if (!j->contains("schedules") || !(*j)["schedules"].is_array()) {
      error = "GET /concerts/" + std::to_string(cid) + "/schedules: no \"schedules\" array";
      return std::nullopt;
    }
    for (const auto& s : (*j)["schedules"]) {
      const auto sid = get_or<std::int64_t>(s, "id", 0);
      if (sid == 0 || (opt.schedule != 0 && sid != opt.schedule))
        continue;
      Target t;
      t.concert_id = cid;
      t.schedule_id = sid;
      t.total_seats = get_or<std::int64_t>(s, "totalSeats", -1);
      t.available_seats = get_or<std::int64_t>(s, "availableSeats", -1);
      t.title = title;
      return t;
    }
  }
  error = opt.schedule != 0 ? "schedule " + std::to_string(opt.schedule) + " not found"
                            : "no schedules found";
  return std::nullopt;
}

} // namespace boxoffice::loadgen
