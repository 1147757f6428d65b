#include "actors/outbox_access.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/db_call.hpp"

namespace boxoffice {

namespace {

// The storage functions on one connection, for the length of one task.
class database_outbox final : public outbox_rows {
public:
  explicit database_outbox(storage::pg_connection& conn) : conn_(conn) {}

  std::vector<outbox_row> pending(int64_t after_id, int limit) override {
    return storage::pending_events(conn_, after_id, limit);
  }
  storage::outbox_counts counts() override { return storage::count_outbox(conn_); }
  void mark_delivered(const std::vector<int64_t>& ids) override {
    storage::mark_delivered(conn_, ids);
  }
  void mark_retry(int64_t id, int attempts, const std::string& error,
                  int64_t next_attempt_ms) override {
    storage::mark_retry(conn_, id, attempts, error, next_attempt_ms);
  }
  void mark_dead(int64_t id, const std::string& error) override {
    storage::mark_dead(conn_, id, error);
  }
  std::string dead_letters(int limit) override { return storage::dead_letters(conn_, limit); }
  int64_t replay_dead(int64_t id) override { return storage::replay_dead(conn_, id); }
  int64_t prune_delivered(int retain_seconds) override {
    return storage::prune_delivered(conn_, retain_seconds);
  }

private:
  storage::pg_connection& conn_;
};

} // namespace

outbox_runner outbox_in_database(db_actor db) {
  return [db](dispatcher_actor::pointer self, outbox_work work, std::function<void()> done,
              std::function<void(caf::error&)> failed) {
    db_then(
      self, db,
      [work = std::move(work)](storage::pg_connection& c) {
        database_outbox rows{c};
        work(rows);
        return true;
      },
      [done = std::move(done)](bool) { done(); }, std::move(failed));
  };
}

} // namespace boxoffice
