#include "actors/waiting_room_actor.hpp"

#include <cmath>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "actors/db_call.hpp"
#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"
#include "util/clock.hpp"
#include "util/hex.hpp"

namespace boxoffice {

namespace {

using room_ptr = waiting_room_actor::stateful_pointer<waiting_room_state>;

constexpr auto tick_interval = std::chrono::milliseconds(100);
constexpr int64_t poll_hint_ms = 1000;

// 128 random bits from OpenSSL, as hex.
std::string new_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("no randomness for queue tokens");
  return to_hex(bytes, sizeof bytes);
}

void adopt(waiting_room_state& st, const storage::token_row& row) {
  if (st.tokens.count(row.token))
    return;
  queue_entry e{row.user_id, row.place, row.status, row.active_until_ms, st.now_ms()};
  if (e.status == token_status::active && e.active_until_ms <= st.now_ms())
    e.status = token_status::expired;
  if (e.status == token_status::waiting)
    st.line.join(e.place, row.token);
  if (e.status == token_status::active) {
    st.active++;
    st.passes->add(row.token, row.user_id);
  }
  st.token_of_user[row.user_id] = row.token;
  st.tokens.emplace(row.token, e);
}

void expire(waiting_room_state& st, const std::string& token, queue_entry& e) {
  if (e.status == token_status::waiting)
    st.line.leave(e.place);
  if (e.status == token_status::active) {
    st.active--;
    st.passes->remove(token);
  }
  e.status = token_status::expired;
  e.active_until_ms = 0;
  st.expired_total++;
  st.mark_dirty(token, e);
}

void admit(waiting_room_state& st, int64_t now) {
  auto elapsed = st.last_tick_ms == 0 ? 0 : now - st.last_tick_ms;
  st.last_tick_ms = now;
  // Unused budget does not pile up beyond one second's worth.
  st.admit_budget = std::min<double>(st.admit_budget + elapsed * st.cfg.admit_per_second / 1000.0,
                                     st.cfg.admit_per_second);
  st.parked = 0;
  if (st.line.empty() || st.active >= st.cfg.max_active || st.admit_budget < 1)
    return; // no walk: a walk_from left by the last one stays for the next
  // From the front (or where the last walk stopped at its bound), admitting
  // who polled within the grace and passing over, in place, who did not.
  auto grace = st.cfg.poll_grace_seconds * 1000LL;
  auto at = st.walk_from == 0 ? st.line.begin() : st.line.from(st.walk_from);
  st.walk_from = 0;
  while (at != st.line.end() && st.active < st.cfg.max_active && st.admit_budget >= 1) {
    auto place = at->first;
    auto token = at->second; // a copy: leave() drops the line's
    ++at;
    auto i = st.tokens.find(token);
    if (i == st.tokens.end()) {
      st.line.leave(place);
      continue; // cannot happen: the line only holds known tokens
    }
    auto& e = i->second;
    if (now - e.last_seen_ms > grace) {
      // Parked: keeps their place and costs no budget.
      st.passed_over_total++;
      if (++st.parked == max_passed_over_per_tick) {
        st.walk_from = at == st.line.end() ? 0 : at->first;
        break;
      }
      continue;
    }
    st.line.leave(place);
    e.status = token_status::active;
    e.active_until_ms = now + st.cfg.active_ttl_seconds * 1000LL;
    st.active++;
    st.passes->add(token, e.user_id);
    st.admit_budget -= 1;
    st.admitted_total++;
    st.mark_dirty(token, e);
  }
}

// Frees the entries of tokens that expired and were not seen for a while, so
// memory stays bounded; the database keeps their rows until the user comes
// back. An expiry not yet stored keeps its entry: the row must say EXPIRED
// before the user can be given a new token without it.
void forget_expired(waiting_room_state& st, int64_t now) {
  auto ttl = st.cfg.active_ttl_seconds * 1000LL;
  for (auto i = st.tokens.begin(); i != st.tokens.end();) {
    auto& [token, e] = *i;
    bool stale = e.status == token_status::expired && now - e.last_seen_ms > ttl;
    if (!stale || st.dirty.count(token) || st.saving.count(token)) {
      ++i;
      continue;
    }
    if (auto u = st.token_of_user.find(e.user_id);
        u != st.token_of_user.end() && u->second == token)
      st.token_of_user.erase(u);
    i = st.tokens.erase(i);
  }
}

// Use keeps an active token alive; the stored expiry catches up on the next
// save, and only when it moved by more than a second (one write per token a
// second at most).
void keep_alive(waiting_room_state& st, const std::string& token, queue_entry& e, int64_t used) {
  e.last_seen_ms = std::max(e.last_seen_ms, used);
  auto until = used + st.cfg.active_ttl_seconds * 1000LL;
  if (until - e.active_until_ms > 1000) {
    e.active_until_ms = until;
    st.mark_dirty(token, e);
  }
}

void expire_idle(waiting_room_state& st, int64_t now) {
  auto ttl = st.cfg.active_ttl_seconds * 1000LL;
  for (auto& [token, e] : st.tokens) {
    // Uses that request handlers saw without asking this actor.
    if (e.status == token_status::active)
      if (auto used = st.passes->last_used(token); used > e.last_seen_ms)
        keep_alive(st, token, e, used);
    bool idle_active = e.status == token_status::active && e.active_until_ms <= now;
    bool abandoned = e.status == token_status::waiting && now - e.last_seen_ms > ttl;
    if (idle_active || abandoned)
      expire(st, token, e);
  }
  forget_expired(st, now);
}

// One statement per tick stores every admission and expiry. A failed write
// is logged and its rows go back to be written on the next tick, unless they
// changed again meanwhile (the newer snapshot wins).
void save(room_ptr self) {
  auto& st = self->state;
  if (st.dirty.empty() || !st.saving.empty())
    return; // one write at a time keeps the rows in order
  st.saving = std::move(st.dirty);
  st.dirty.clear();
  std::vector<storage::token_row> rows;
  rows.reserve(st.saving.size());
  for (auto& [token, row] : st.saving)
    rows.push_back(row);
  db_then(
    self, st.db,
    [rows](storage::pg_connection& c) {
      storage::save_tokens(c, rows);
      return true;
    },
    [self](bool) { self->state.saving.clear(); },
    [self](caf::error& err) {
      auto& st = self->state;
      st.save_failures++;
      spdlog::error("waiting room: storing {} queue token(s) failed, retrying: {}",
                    st.saving.size(), error_message(err));
      for (auto& [token, row] : st.saving)
        st.dirty.emplace(token, row); // keeps a newer snapshot if there is one
      st.saving.clear();
    });
}

void tick(room_ptr self) {
  auto& st = self->state;
  auto now = st.now_ms();
  if (++st.ticks % 10 == 0)
    expire_idle(st, now); // once a second: it walks every token
  admit(st, now);
  save(self);
  self->delayed_send(self, tick_interval, tick_atom_v);
}

caf::result<queue_ticket> issue(room_ptr self, int64_t user_id) {
  auto& st = self->state;
  std::string expired;
  if (auto i = st.token_of_user.find(user_id); i != st.token_of_user.end()) {
    if (auto t = st.tokens.find(i->second); t != st.tokens.end()) {
      if (t->second.status != token_status::expired) {
        t->second.last_seen_ms = st.now_ms();
        return st.ticket(i->second);
      }
      expired = i->second;
    }
  }
  auto rp = self->make_response_promise<queue_ticket>();
  db_then(
    self, st.db,
    [token = new_token(), user_id, expired](storage::pg_connection& c) {
      return storage::issue_token(c, token, user_id, expired);
    },
    [self, rp](storage::token_row row) mutable {
      auto& st = self->state;
      // A previous, expired token of this user gives way to the new one.
      if (auto i = st.token_of_user.find(row.user_id);
          i != st.token_of_user.end() && i->second != row.token) {
        if (auto old = st.tokens.find(i->second);
            old != st.tokens.end() && old->second.status == token_status::expired)
          st.tokens.erase(old);
      }
      adopt(st, row);
      rp.deliver(st.ticket(row.token));
    },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::error invalid_token() {
  return make_error(booking_errc::token_missing, "missing, unknown or expired queue token");
}

caf::result<caf::ok_atom> check(room_ptr self, const std::string& token, int64_t user_id) {
  auto& st = self->state;
  auto i = st.tokens.find(token);
  if (i == st.tokens.end() || i->second.status == token_status::expired)
    return invalid_token();
  auto& e = i->second;
  if (user_id != 0 && e.user_id != user_id)
    return make_error(booking_errc::token_forbidden, "the queue token belongs to another user");
  if (e.status != token_status::active)
    return make_error(booking_errc::token_not_active, "the queue token is still waiting");
  keep_alive(st, token, e, st.now_ms());
  return caf::ok_atom_v;
}

void load(room_ptr self) {
  db_await(
    self, self->state.db, [](storage::pg_connection& c) { return storage::live_tokens(c); },
    [self](std::vector<storage::token_row> rows) {
      for (auto& row : rows)
        adopt(self->state, row);
      self->state.loaded = true;
    },
    [self](caf::error& err) {
      log_failure_of("waiting room: loading queue tokens (it stops)", err);
      self->quit();
    });
}

} // namespace

int64_t waiting_room_state::now_ms() const {
  return epoch_ms_at(clock->now());
}

void waiting_room_state::mark_dirty(const std::string& token, const queue_entry& e) {
  dirty[token] = {token, e.user_id, e.place, e.status, e.active_until_ms};
}

queue_ticket waiting_room_state::ticket(const std::string& token) const {
  auto& e = tokens.at(token);
  queue_ticket t;
  t.token = token;
  t.user_id = e.user_id;
  t.status = e.status;
  if (e.status == token_status::waiting) {
    t.position = line.position(e.place);
    auto rate = static_cast<double>(cfg.admit_per_second);
    t.eta_seconds = static_cast<int64_t>(std::ceil(t.position / rate));
    t.poll_after_ms = std::min<int64_t>(5000, std::max<int64_t>(200, t.eta_seconds * 250));
  } else {
    t.poll_after_ms = e.status == token_status::active ? 0 : poll_hint_ms;
  }
  t.active_until_ms = e.active_until_ms;
  return t;
}

waiting_room_actor::behavior_type
waiting_room_actor_impl(waiting_room_actor::stateful_pointer<waiting_room_state> self, db_actor db,
                        booking_config cfg, std::shared_ptr<active_tokens> passes) {
  self->state.db = std::move(db);
  self->state.passes = std::move(passes);
  self->state.cfg = cfg;
  self->state.clock = &self->clock();
  register_inspectable(self, "waiting-room", "main");
  load(self);
  self->send(self, tick_atom_v);
  return {
    [=](token_atom, int64_t user_id) { return issue(self, user_id); },
    [=](poll_atom, const std::string& token) -> caf::result<queue_ticket> {
      auto& st = self->state;
      auto i = st.tokens.find(token);
      if (i == st.tokens.end())
        return invalid_token();
      i->second.last_seen_ms = st.now_ms();
      return st.ticket(token);
    },
    [=](check_atom, const std::string& token, int64_t user_id) {
      return check(self, token, user_id);
    },
    [=](leave_atom, int64_t user_id) {
      auto& st = self->state;
      auto i = st.token_of_user.find(user_id);
      if (i == st.token_of_user.end())
        return;
      if (auto t = st.tokens.find(i->second);
          t != st.tokens.end() && t->second.status != token_status::expired)
        expire(st, i->second, t->second);
    },
    [=](tick_atom) { tick(self); },
    [=](status_atom) {
      auto& st = self->state;
      caf::settings s;
      s["type"] = "waiting-room";
      s["waiting"] = st.line.size();
      s["active"] = st.active;
      s["maxActive"] = st.cfg.max_active;
      s["admitPerSecond"] = st.cfg.admit_per_second;
      s["admittedTotal"] = st.admitted_total;
      s["expiredTotal"] = st.expired_total;
      s["pollGraceSeconds"] = st.cfg.poll_grace_seconds;
      s["parked"] = st.parked;
      s["passedOverTotal"] = st.passed_over_total;
      s["tokens"] = st.tokens.size();
      s["published"] = st.passes->size();
      s["unsaved"] = st.dirty.size() + st.saving.size();
      s["saveFailures"] = st.save_failures;
      s["lineCapacity"] = st.line.capacity();
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
