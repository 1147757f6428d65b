#pragma once

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>

#include "actors/active_tokens.hpp"
#include "actors/booking_config.hpp"
#include "actors/waiting_line.hpp"
#include "storage/queue_store.hpp"

namespace boxoffice {

struct queue_entry {
  int64_t user_id = 0;
  int64_t place = 0;
  token_status status = token_status::waiting;
  int64_t active_until_ms = 0;
  int64_t last_seen_ms = 0;
};

// Parked waiters (not seen within cfg.poll_grace_seconds) that one tick's
// admission walk steps over at most: a front full of abandoned tokens costs a
// tick a few thousand map steps and lookups, not a walk of the whole line. A
// walk stopped here resumes at that point on the next tick, so the users
// behind still get their turn.
inline constexpr uint64_t max_passed_over_per_tick = 4096;

struct waiting_room_state {
  static inline const char* name = "waiting-room";
  db_actor db;
  booking_config cfg;
  const caf::actor_clock* clock = nullptr; // the actor's: a test moves it
  // The active tokens, published for request handlers on any thread.
  std::shared_ptr<active_tokens> passes;
  std::unordered_map<std::string, queue_entry> tokens;
  std::unordered_map<int64_t, std::string> token_of_user;
  waiting_line line;
  int64_t active = 0;
  double admit_budget = 0; // admissions earned by elapsed time, not yet used
  int64_t last_tick_ms = 0;
  // Rows to store on the next tick, a snapshot taken when they changed: an
  // entry forgotten meanwhile cannot turn into a blank row.
  std::unordered_map<std::string, storage::token_row> dirty;
  // Rows handed to the database and not yet confirmed: their entries stay
  // in memory until then, and come back to `dirty` if the write fails.
  std::unordered_map<std::string, storage::token_row> saving;
  uint64_t save_failures = 0;
  uint64_t admitted_total = 0;
  uint64_t expired_total = 0;
  // Where the next admission walk starts when the last one stopped at
  // max_passed_over_per_tick (a place; 0: at the front).
  int64_t walk_from = 0;
  uint64_t parked = 0;            // waiters passed over by the last tick's walk
  uint64_t passed_over_total = 0; // the same, summed over every tick since start
  bool loaded = false;
  uint64_t ticks = 0;

  int64_t now_ms() const;
  queue_ticket ticket(const std::string& token) const;
  // Records the entry's current status and expiry for the next save.
  void mark_dirty(const std::string& token, const queue_entry& e);
};

// Issues tokens, admits waiting users at cfg.admit_per_second up to
// cfg.max_active active ones (passing over, in place, those who stopped
// polling: cfg.poll_grace_seconds), and expires tokens left unused.
waiting_room_actor::behavior_type
waiting_room_actor_impl(waiting_room_actor::stateful_pointer<waiting_room_state> self, db_actor db,
                        booking_config cfg, std::shared_ptr<active_tokens> passes);

} // namespace boxoffice
