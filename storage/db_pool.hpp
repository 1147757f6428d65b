#pragma once
// Blocking libpq work runs here, on the pool's own threads, never on CAF's
// scheduler threads. Tasks queued together share one transaction (group
// commit), and one fsync covers them all. A task that fails is run again
// alone, so it fails alone (see db_pool::run_together).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "messages/types.hpp"

namespace boxoffice::storage {

class pg_connection;

struct db_task {
  // Runs inside a transaction; throws to fail (and roll back) this task only.
  std::function<void(pg_connection&)> work;
  // Called on the worker thread once the outcome is durable (or failed).
  std::function<void(const db_task&)> done;
  // Past this moment the caller has stopped waiting: the task is failed
  // before BEGIN instead of committing behind its back. Default: no deadline.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool ok = false;
  std::vector<outbox_row> events; // the outbox rows it committed
  std::string error;
  std::string sqlstate;
};

using db_task_ptr = std::shared_ptr<db_task>;

struct db_pool_stats {
  uint64_t queued = 0;
  uint64_t executed = 0;
  uint64_t commits = 0;
  uint64_t failed = 0;
  uint64_t expired = 0; // failed before BEGIN: their caller had timed out
  int workers = 0;
};

class db_pool {
public:
  // Opens `size` connections; throws pg_error when the database is unreachable.
  db_pool(std::string url, int size, int max_batch);
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  void submit(db_task_ptr task);
  // Stops accepting work, fails what is still queued, joins the workers.
  void stop();
  db_pool_stats stats() const;
  // Runs first in every transaction and throws to refuse it (cluster_store's
  // fence: a superseded process writes nothing). Set before submitting work.
  void set_fence(std::function<void(pg_connection&)> fence) { fence_ = std::move(fence); }
  // Tests only: runs right after every COMMIT returned; if it throws, the pool
  // sees what a connection lost during COMMIT looks like (committed, but
  // reported as failed). Set before submitting work.
  void set_after_commit_hook(std::function<void()> hook) { after_commit_ = std::move(hook); }

private:
  void worker_loop(pg_connection& conn);
  void run_batch(pg_connection& conn, std::vector<db_task_ptr>& batch);
  void run_together(pg_connection& conn, std::vector<db_task_ptr>& batch, size_t first,
                    size_t last);
  // Runs batch[first, last) in one transaction. Returns last when that is
  // settled (committed, or every task rerun alone after a lost connection),
  // else the index of the task that threw, with nothing committed.
  size_t try_together(pg_connection& conn, std::vector<db_task_ptr>& batch, size_t first,
                      size_t last);
  void run_alone(pg_connection& conn, db_task& task);
  void run_once(pg_connection& conn, db_task& task);
  void begin(pg_connection& conn);
  void commit(pg_connection& conn);
  // Fails (and removes) the tasks whose caller gave up waiting.
  void drop_expired(std::vector<db_task_ptr>& batch);

  std::string url_;
  int max_batch_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<db_task_ptr> queue_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<pg_connection>> conns_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> executed_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> expired_{0};
  std::function<void(pg_connection&)> fence_;
  std::function<void()> after_commit_;
};

} // namespace boxoffice::storage
