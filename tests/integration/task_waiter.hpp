#pragma once
// Submits storage tasks and waits, boundedly, until every one reported back.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "storage/db_pool.hpp"

namespace boxoffice::testing {

struct task_waiter {
  std::mutex mtx;
  std::condition_variable cv;
  int outstanding = 0;

  storage::db_task_ptr make(std::function<void(storage::pg_connection&)> work) {
    auto t = std::make_shared<storage::db_task>();
    t->work = std::move(work);
    t->done = [this](const storage::db_task&) {
      std::lock_guard<std::mutex> g{mtx};
      --outstanding;
      cv.notify_all();
    };
    std::lock_guard<std::mutex> g{mtx};
    ++outstanding;
    return t;
  }

  // False when a task has not reported within 30 s: a broken pool fails the
  // test instead of hanging it.
  bool wait() {
    std::unique_lock<std::mutex> l{mtx};
    return cv.wait_for(l, std::chrono::seconds(30), [this] { return outstanding == 0; });
  }
};

} // namespace boxoffice::testing
