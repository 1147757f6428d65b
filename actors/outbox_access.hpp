#pragma once
// The outbox as the dispatcher reads and settles it. The dispatcher gets an
// outbox_runner at spawn: in production it runs the storage functions on the
// dispatcher's own db actor; a test hands it rows in memory, so delivery order,
// retries and replay are checked without PostgreSQL.

#include <functional>
#include <string>
#include <vector>

#include "actors/db_protocol.hpp"
#include "storage/outbox_store.hpp"

namespace boxoffice {

// What the dispatcher asks of the outbox: the functions of storage/outbox_store.hpp.
class outbox_rows {
public:
  virtual ~outbox_rows() = default;
  // Pending rows after `after_id` (0: all of them), at most `limit`.
  virtual std::vector<outbox_row> pending(int64_t after_id, int limit) = 0;
  virtual storage::outbox_counts counts() = 0;
  virtual void mark_delivered(const std::vector<int64_t>& ids) = 0;
  virtual void mark_retry(int64_t id, int attempts, const std::string& error,
                          int64_t next_attempt_ms) = 0;
  virtual void mark_dead(int64_t id, const std::string& error) = 0;
  virtual std::string dead_letters(int limit) = 0;
  virtual int64_t replay_dead(int64_t id) = 0;
  virtual int64_t prune_delivered(int retain_seconds) = 0;
};

// Runs `work` against the outbox, then continues in the dispatcher with `done`
// or, if it could not run or failed, with `failed`. Like db_then, `work` may
// run on another thread and must only touch what it captured.
using outbox_work = std::function<void(outbox_rows&)>;
using outbox_runner =
  std::function<void(dispatcher_actor::pointer self, outbox_work work, std::function<void()> done,
                     std::function<void(caf::error&)> failed)>;

// The outbox in PostgreSQL, reached through `db`.
outbox_runner outbox_in_database(db_actor db);

} // namespace boxoffice
