#include "storage/db_pool.hpp"

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

void finish(db_task& task) {
  if (task.done)
    task.done(task);
}

// Deadlocks and serialization failures say nothing about the task itself.
bool is_transient(const std::string& sqlstate) {
  return sqlstate == "40P01" || sqlstate == "40001";
}

void fail(db_task& task, const std::string& error, const std::string& sqlstate) {
  task.ok = false;
  task.events.clear(); // rolled back: nothing to deliver
  task.error = error;
  task.sqlstate = sqlstate;
}

bool past_deadline(const db_task& task) {
  return std::chrono::steady_clock::now() > task.deadline;
}

// 57014 is PostgreSQL's query_canceled: the nearest standard meaning.
void fail_expired(db_task& task) {
  fail(task, "the request timed out before its transaction began; nothing was written", "57014");
}

} // namespace

db_pool::db_pool(std::string url, int size, int max_batch)
    : url_(std::move(url)), max_batch_(max_batch < 1 ? 1 : max_batch) {
  for (int i = 0; i < size; ++i)
    conns_.push_back(std::make_unique<pg_connection>(url_));
  for (auto& c : conns_)
    threads_.emplace_back([this, conn = c.get()] { worker_loop(*conn); });
}

db_pool::~db_pool() {
  stop();
}

void db_pool::submit(db_task_ptr task) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      queue_.push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  fail(*task, "database pool stopped", "57P01");
  finish(*task);
}

void db_pool::stop() {
  std::deque<db_task_ptr> rest;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
    rest.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
  for (auto& task : rest) {
    fail(*task, "database pool stopped", "57P01");
    finish(*task);
  }
}

db_pool_stats db_pool::stats() const {
  db_pool_stats s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    s.queued = queue_.size();
  }
  s.executed = executed_;
  s.commits = commits_;
  s.failed = failed_;
  s.expired = expired_;
  s.workers = static_cast<int>(threads_.size());
  return s;
}

void db_pool::worker_loop(pg_connection& conn) {
  for (;;) {
    std::vector<db_task_ptr> batch;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    auto taken = batch;
    drop_expired(batch);
    if (batch.size() == 1)
      run_alone(conn, *batch.front());
    else if (!batch.empty())
      run_batch(conn, batch);
    for (auto& task : taken) {
      executed_++;
      if (!task->ok)
        failed_++;
      finish(*task);
    }
  }
}

void db_pool::drop_expired(std::vector<db_task_ptr>& batch) {
  std::vector<db_task_ptr> live;
  for (auto& task : batch) {
    if (past_deadline(*task)) {
      fail_expired(*task);
      expired_++;
    } else {
      live.push_back(task);
    }
  }
  batch.swap(live);
}

void db_pool::begin(pg_connection& conn) {
  conn.run("BEGIN");
  if (fence_)
    fence_(conn);
}

void db_pool::commit(pg_connection& conn) {
  conn.run("COMMIT");
  if (after_commit_)
    after_commit_();
}

void db_pool::run_alone(pg_connection& conn, db_task& task) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (past_deadline(task)) {
      fail_expired(task);
      expired_++;
      return;
    }
    run_once(conn, task);
    if (task.ok || !is_transient(task.sqlstate))
      return;
  }
}

void db_pool::run_once(pg_connection& conn, db_task& task) {
  conn.reconnect_if_broken();
  try {
    begin(conn);
    conn.appended.clear();
    task.work(conn);
    task.events = std::move(conn.appended);
    conn.appended.clear();
    commit(conn);
    commits_++;
    task.ok = true;
  } catch (const pg_error& e) {
    fail(task, e.what(), e.sqlstate());
  } catch (const std::exception& e) {
    fail(task, e.what(), "");
  }
  if (!task.ok) {
    try {
      conn.run("ROLLBACK");
    } catch (const std::exception&) {
      // The connection is gone; the next task reports it.
    }
  }
}

void db_pool::run_batch(pg_connection& conn, std::vector<db_task_ptr>& batch) {
  run_together(conn, batch, 0, batch.size());
}

// Tasks share one transaction with no savepoint between them: a savepoint
// costs two round trips a task, and a task fails rarely (refusals are
// results, not errors). When one throws, nothing has committed: the tasks
// before it run together again, it runs alone (with its own retries), and
// the ones after it go on together.
void db_pool::run_together(pg_connection& conn, std::vector<db_task_ptr>& batch, size_t first,
                           size_t last) {
  while (first < last) {
    if (last - first == 1)
      return run_alone(conn, *batch[first]);
    auto failed = try_together(conn, batch, first, last);
    if (failed == last)
      return;
    run_together(conn, batch, first, failed);
    run_alone(conn, *batch[failed]);
    first = failed + 1;
  }
}

size_t db_pool::try_together(pg_connection& conn, std::vector<db_task_ptr>& batch, size_t first,
                             size_t last) {
  conn.reconnect_if_broken();
  size_t current = first;
  try {
    begin(conn);
    for (; current < last; ++current) {
      auto& task = *batch[current];
      conn.appended.clear();
      task.work(conn);
      task.events = std::move(conn.appended);
      conn.appended.clear();
    }
  } catch (const std::exception&) {
    try {
      conn.run("ROLLBACK");
      return current;
    } catch (const std::exception&) {
      current = last; // the connection is gone: every task alone, below
    }
  }
  if (current == last) {
    try {
      commit(conn);
      commits_++;
      for (size_t i = first; i < last; ++i)
        batch[i]->ok = true;
      return last;
    } catch (const std::exception&) {
      // The connection died during COMMIT (or before it): the batch may have
      // committed after all, so every task must be safe to rerun: each
      // booking write is idempotent (saga steps by saga id, charges by
      // request id) or conditional on the state it changes.
      try {
        conn.run("ROLLBACK");
      } catch (const std::exception&) {
      }
    }
  }
  for (size_t i = first; i < last; ++i) {
    batch[i]->ok = false;
    batch[i]->error.clear();
    run_alone(conn, *batch[i]);
  }
  return last;
}

} // namespace boxoffice::storage
