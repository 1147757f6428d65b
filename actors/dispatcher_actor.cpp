#include "actors/dispatcher_actor.hpp"

#include <caf/send.hpp>

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "messages/errors.hpp"
#include "util/clock.hpp"

namespace boxoffice {

namespace {

using dispatcher_ptr = dispatcher_actor::stateful_pointer<dispatcher_state>;

constexpr auto flush_delay = std::chrono::milliseconds(10);
constexpr auto prune_interval = std::chrono::seconds(60);
constexpr int full_scan_every = 5; // ticks
// Rows commit out of id order within a window of concurrent transactions: the
// fast path looks back this far behind its cursor (known rows are skipped).
constexpr int64_t cursor_lookback = 1024;
constexpr size_t max_settled_aggregates = 65536;

// Delivery decisions read time through the actor's clock, so a test moves it
// with the test coordinator's clock.
int64_t actor_now_ms(dispatcher_ptr self) {
  return epoch_ms_at(self->clock().now());
}

// Runs `work` against the outbox and continues here with its result, as
// db_then does with the database.
template <class Work, class OnOk, class OnErr>
void outbox_then(dispatcher_ptr self, Work work, OnOk on_ok, OnErr on_err) {
  using result_type = decltype(work(std::declval<outbox_rows&>()));
  auto out = std::make_shared<result_type>();
  self->state.outbox(
    self, [out, work = std::move(work)](outbox_rows& rows) { *out = work(rows); },
    [out, on_ok = std::move(on_ok)]() mutable { on_ok(std::move(*out)); }, std::move(on_err));
}

// Puts an aggregate's head where it belongs: due now, or later.
void schedule_head(dispatcher_ptr self, const std::string& aggregate) {
  auto& st = self->state;
  auto q = st.queues.find(aggregate);
  if (q == st.queues.end() || q->second.empty()) {
    if (q != st.queues.end())
      st.queues.erase(q);
    st.scheduled.erase(aggregate);
    return;
  }
  st.scheduled.insert(aggregate);
  auto& head = q->second.begin()->second;
  auto now = actor_now_ms(self);
  if (head.next_attempt_ms <= now) {
    st.ready.push_back(aggregate);
  } else {
    st.waiting.emplace(head.next_attempt_ms, aggregate);
    self->delayed_send(self, std::chrono::milliseconds(head.next_attempt_ms - now), tick_atom_v);
  }
}

int64_t settled_sequence(const dispatcher_state& st, const std::string& aggregate) {
  auto i = st.settled_through.find(aggregate);
  return i == st.settled_through.end() ? 0 : i->second;
}

void note_settled(dispatcher_state& st, const std::string& aggregate, int64_t sequence) {
  auto [i, fresh] = st.settled_through.emplace(aggregate, sequence);
  if (!fresh) {
    i->second = std::max(i->second, sequence);
    return;
  }
  st.settled_order.push_back(aggregate);
  if (st.settled_order.size() > max_settled_aggregates) {
    st.settled_through.erase(st.settled_order.front());
    st.settled_order.pop_front();
  }
}

// Whether the dispatcher holds `row` already, or delivered it and is still
// marking it so.
bool known(const dispatcher_state& st, const outbox_row& row) {
  return st.aggregate_of.count(row.id) || st.unflushed.count(row.id);
}

void adopt(dispatcher_ptr self, outbox_row&& row) {
  auto& st = self->state;
  st.cursor = std::max(st.cursor, row.id);
  st.aggregate_of.emplace(row.id, row.aggregate);
  auto aggregate = row.aggregate;
  st.queues[aggregate].emplace(row.sequence, std::move(row));
  if (!st.scheduled.count(aggregate))
    schedule_head(self, aggregate);
}

// A scan's rows. One settled while the scan ran was read before it settled:
// it is not taken again.
void adopt_scanned(dispatcher_ptr self, std::vector<outbox_row>& rows) {
  auto& st = self->state;
  for (auto& row : rows) {
    st.cursor = std::max(st.cursor, row.id);
    if (!known(st, row) && !st.settled_while_scanning.count(row.id))
      adopt(self, std::move(row));
  }
  st.settled_while_scanning.clear();
}

// A handed row may go at once when nothing of its aggregate can be missing
// before it: it is the first, or its predecessor is queued here or settled.
bool follows_known(const dispatcher_state& st, const outbox_row& row) {
  if (row.sequence == 1 || settled_sequence(st, row.aggregate) == row.sequence - 1)
    return true;
  auto q = st.queues.find(row.aggregate);
  return q != st.queues.end() && q->second.count(row.sequence - 1);
}

void scan(dispatcher_ptr self, bool from_start);

// The fast path: rows straight from their commit, without reading the
// outbox. A row whose predecessor this dispatcher has not seen (it restarted,
// or the predecessor's commit was reported lost) waits for a scan instead.
void take_committed(dispatcher_ptr self, std::vector<outbox_row>& rows) {
  auto& st = self->state;
  bool need_scan = false;
  for (auto& row : rows) {
    // Settled already: a scan found it first.
    if (known(st, row) || row.sequence <= settled_sequence(st, row.aggregate))
      continue;
    if (static_cast<int>(st.aggregate_of.size()) >= st.cfg.max_in_memory ||
        !follows_known(st, row)) {
      st.handed_skipped++;
      need_scan = true;
      continue;
    }
    st.handed_total++;
    adopt(self, std::move(row));
  }
  if (need_scan)
    scan(self, false);
}

void settle(dispatcher_ptr self, std::function<void(outbox_rows&)> write) {
  outbox_then(
    self,
    [write](outbox_rows& rows) {
      write(rows);
      return true;
    },
    [](bool) {},
    // The row stays as it was in the database: a later scan settles it again.
    log_failure("dispatcher: storing a delivery outcome"));
}

// The row a report is about. It need not be its aggregate's head: a replayed
// dead letter or a re-scanned row can sort ahead of the one in flight.
outbox_row* row_of(dispatcher_state& st, const std::string& aggregate, int64_t id) {
  auto q = st.queues.find(aggregate);
  if (q == st.queues.end())
    return nullptr;
  for (auto& [sequence, row] : q->second)
    if (row.id == id)
      return &row;
  return nullptr;
}

// Drops a settled row and lets its aggregate's next row go.
void settle_row(dispatcher_ptr self, const std::string& aggregate, int64_t id, int64_t sequence) {
  auto& st = self->state;
  note_settled(st, aggregate, sequence);
  if (st.scanning)
    st.settled_while_scanning.insert(id);
  st.aggregate_of.erase(id);
  st.queues[aggregate].erase(sequence);
  st.scheduled.erase(aggregate);
  schedule_head(self, aggregate);
}

void pop_head(dispatcher_ptr self, const std::string& aggregate) {
  auto& head = self->state.queues[aggregate].begin()->second;
  settle_row(self, aggregate, head.id, head.sequence);
}

void note_error(dispatcher_state& st, std::string error) {
  st.last_error = std::move(error);
  // Wall time, as the status compares it with: it only tells the error's age.
  st.last_error_ms = now_ms();
}

outbound_event to_request(const dispatcher_config& cfg, const outbox_row& row) {
  outbound_event ev;
  ev.path = row.stream == "order" ? cfg.order_path : cfg.reservation_path;
  ev.body = row.payload;
  ev.headers = {{"X-Idempotency-Key", row.event_id}, {"X-Event-Type", row.event_type}};
  return ev;
}

void send_head(dispatcher_ptr self, const std::string& aggregate) {
  auto& st = self->state;
  auto& row = st.queues[aggregate].begin()->second;
  if (actor_now_ms(self) - row.age_base_ms > st.cfg.max_age_seconds * 1000LL) {
    auto id = row.id;
    st.dead_total++;
    note_error(st, "event " + row.event_id + " exceeded dataplatform.max_age_seconds");
    settle(self, [id](outbox_rows& rows) { rows.mark_dead(id, "too old"); });
    return pop_head(self, aggregate);
  }
  st.in_flight++;
  auto me = caf::actor_cast<dispatcher_actor>(self);
  st.transport(to_request(st.cfg, row), [me, id = row.id](int status, std::string error,
                                                          std::optional<int> retry_after) {
    caf::anon_send(me, delivery_report{id, status, std::move(error), retry_after.value_or(-1)});
  });
}

void pump(dispatcher_ptr self) {
  auto& st = self->state;
  auto now = actor_now_ms(self);
  while (!st.waiting.empty() && st.waiting.begin()->first <= now) {
    st.ready.push_back(st.waiting.begin()->second);
    st.waiting.erase(st.waiting.begin());
  }
  while (st.in_flight < st.cfg.max_in_flight && !st.ready.empty()) {
    auto steady = self->clock().now();
    if (!st.breaker.allow(steady)) {
      auto wait = st.breaker.open_until() - steady;
      if (wait > std::chrono::milliseconds(0))
        self->delayed_send(self,
                           std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                             std::chrono::milliseconds(1),
                           tick_atom_v);
      return;
    }
    auto aggregate = st.ready.front();
    st.ready.pop_front();
    send_head(self, aggregate);
  }
}

void on_report(dispatcher_ptr self, const delivery_report& rep) {
  auto& st = self->state;
  st.in_flight--;
  auto i = st.aggregate_of.find(rep.row_id);
  if (i == st.aggregate_of.end())
    return pump(self);
  auto aggregate = i->second;
  auto* found = row_of(st, aggregate, rep.row_id);
  if (!found)
    return pump(self);
  auto& row = *found;
  auto outcome = classify(rep.status, rep.error);
  // A platform that answers 4xx is up: only retryable failures count against it.
  st.breaker.record(outcome != delivery_outcome::retry, self->clock().now());
  switch (outcome) {
    case delivery_outcome::delivered:
      st.delivered_total++;
      st.delivered_batch.push_back(rep.row_id);
      st.unflushed.insert(rep.row_id);
      if (!st.flush_pending) {
        st.flush_pending = true;
        self->delayed_send(self, flush_delay, flush_atom_v);
      }
      settle_row(self, aggregate, row.id, row.sequence);
      break;
    case delivery_outcome::dead: {
      st.dead_total++;
      auto why = "HTTP " + std::to_string(rep.status);
      note_error(st, "event " + row.event_id + " rejected: " + why);
      settle(self, [id = rep.row_id, why](outbox_rows& rows) { rows.mark_dead(id, why); });
      settle_row(self, aggregate, row.id, row.sequence);
      break;
    }
    case delivery_outcome::retry: {
      st.retried_total++;
      auto why = rep.status ? "HTTP " + std::to_string(rep.status) : rep.error;
      note_error(st, why);
      std::optional<std::chrono::seconds> retry_after;
      if (rep.retry_after >= 0)
        retry_after = std::chrono::seconds(rep.retry_after);
      auto delay = st.retry_backoff.delay(row.attempts, retry_after);
      row.attempts++;
      row.next_attempt_ms = actor_now_ms(self) + delay.count();
      settle(self, [id = row.id, n = row.attempts, why, at = row.next_attempt_ms](
                     outbox_rows& rows) { rows.mark_retry(id, n, why, at); });
      st.scheduled.erase(aggregate);
      schedule_head(self, aggregate);
      break;
    }
  }
  pump(self);
}

void scan(dispatcher_ptr self, bool from_start) {
  auto& st = self->state;
  if (st.scanning) {
    st.rescan = true;
    return;
  }
  auto room = st.cfg.max_in_memory - static_cast<int>(st.aggregate_of.size());
  if (room <= 0)
    return;
  st.scanning = true;
  outbox_then(
    self,
    [after = from_start ? 0 : std::max<int64_t>(0, st.cursor - cursor_lookback),
     room](outbox_rows& rows) { return rows.pending(after, room); },
    [self](std::vector<outbox_row> rows) {
      self->state.scanning = false;
      adopt_scanned(self, rows);
      pump(self);
      if (std::exchange(self->state.rescan, false))
        scan(self, false);
    },
    [self](caf::error& err) {
      self->state.scanning = false;
      self->state.settled_while_scanning.clear();
      note_error(self->state, "outbox scan failed: " + error_message(err));
    });
}

void backstop(dispatcher_ptr self) {
  auto& st = self->state;
  scan(self, ++st.ticks % full_scan_every == 0);
  outbox_then(
    self, [](outbox_rows& rows) { return rows.counts(); },
    [self](storage::outbox_counts counts) { self->state.counts = counts; },
    log_failure("dispatcher: counting the outbox"));
}

caf::settings status_of(dispatcher_ptr self) {
  auto& st = self->state;
  auto oldest = st.counts.oldest_pending_ms ? now_ms() - st.counts.oldest_pending_ms : 0;
  caf::settings s;
  s["type"] = "dispatcher";
  s["pending"] = st.counts.pending;
  s["inMemory"] = st.aggregate_of.size();
  s["handed"] = st.handed_total;
  s["handedToScan"] = st.handed_skipped;
  s["inFlight"] = st.in_flight;
  s["delivered"] = st.delivered_total;
  s["retried"] = st.retried_total;
  s["deadTotal"] = st.dead_total;
  s["dead"] = st.counts.dead;
  s["oldestPendingAgeMs"] = oldest;
  s["breaker"] = st.breaker.state_name();
  s["breakerOpened"] = st.breaker.opened_count();
  s["breakerRejected"] = st.breaker.rejected_count();
  s["lastError"] = st.last_error;
  s["lastErrorAgeMs"] = st.last_error_ms ? now_ms() - st.last_error_ms : 0;
  s["mailbox"] = self->mailbox().size();
  return s;
}

} // namespace

dispatcher_actor::behavior_type
dispatcher_actor_impl(dispatcher_actor::stateful_pointer<dispatcher_state> self,
                      outbox_runner outbox, dispatcher_config cfg, event_transport transport) {
  auto& st = self->state;
  st.outbox = std::move(outbox);
  st.cfg = cfg;
  st.breaker = circuit_breaker{cfg.breaker};
  st.transport = std::move(transport);
  register_inspectable(self, "dispatcher", "main");
  self->send(self, prune_atom_v);
  // The periodic backstop: scans after crashes and catches what the fast path missed.
  auto interval = std::chrono::milliseconds(cfg.scan_interval_ms);
  self->send(self, tick_atom_v);
  return {
    [=](committed_events& events) {
      take_committed(self, events.rows);
      pump(self);
    },
    [=](tick_atom) {
      auto now = self->clock().now();
      if (now >= self->state.next_backstop) {
        self->state.next_backstop = now + interval;
        backstop(self);
        self->delayed_send(self, interval, tick_atom_v);
      }
      pump(self);
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.flush_pending = false;
      auto ids = std::move(st.delivered_batch);
      st.delivered_batch.clear();
      if (ids.empty())
        return;
      auto forget = [self, ids] {
        for (auto id : ids)
          self->state.unflushed.erase(id);
      };
      outbox_then(
        self,
        [ids](outbox_rows& rows) {
          rows.mark_delivered(ids);
          return true;
        },
        [forget](bool) { forget(); },
        [forget](caf::error& err) {
          // The rows stay PENDING in the database: a later scan sends them again.
          log_failure_of("dispatcher: marking delivered rows", err);
          forget();
        });
    },
    [=](prune_atom) {
      settle(self, [retain = self->state.cfg.retain_delivered_seconds](outbox_rows& rows) {
        rows.prune_delivered(retain);
      });
      self->delayed_send(self, prune_interval, prune_atom_v);
    },
    [=](const delivery_report& rep) { on_report(self, rep); },
    [=](list_atom) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      outbox_then(
        self, [](outbox_rows& rows) { return rows.dead_letters(500); },
        [rp](std::string json) mutable { rp.deliver(json); },
        [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [=](replay_atom, int64_t id) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      outbox_then(
        self, [id](outbox_rows& rows) { return rows.replay_dead(id); },
        [self, rp](int64_t n) mutable {
          scan(self, true); // replayed rows sit below the cursor
          rp.deliver(n);
        },
        [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [=](status_atom) { return status_of(self); },
  };
}

} // namespace boxoffice
