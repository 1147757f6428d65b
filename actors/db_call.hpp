#pragma once
// Runs a piece of storage work off the scheduler threads and continues in the
// calling actor once it has committed. `work` runs on a storage thread and
// must only touch what it captured by value.

#include <chrono>
#include <memory>

#include "actors/db_protocol.hpp"
#include "messages/errors.hpp"

namespace boxoffice {

constexpr auto db_timeout = std::chrono::seconds(30);

template <class Work> auto make_db_task(Work work) {
  using result_type = decltype(work(std::declval<storage::pg_connection&>()));
  auto out = std::make_shared<result_type>();
  auto task = std::make_shared<storage::db_task>();
  // The request below gives up after db_timeout: a task still queued by then
  // is failed before BEGIN rather than committing behind the caller's back.
  task->deadline = std::chrono::steady_clock::now() + db_timeout;
  task->work = [out, work = std::move(work)](storage::pg_connection& c) mutable { *out = work(c); };
  return std::make_pair(task, out);
}

// Continues with `on_ok(result)` or `on_err(caf::error&)`; other messages keep
// flowing meanwhile.
template <class Self, class Work, class OnOk, class OnErr>
void db_then(Self* self, const db_actor& db, Work work, OnOk on_ok, OnErr on_err) {
  auto [task, out] = make_db_task(std::move(work));
  self->request(db, db_timeout, db_atom_v, task)
    .then([out = out, on_ok = std::move(on_ok)](caf::ok_atom) mutable { on_ok(std::move(*out)); },
          std::move(on_err));
}

// Like db_then, but holds back every other message of the actor until the
// write is durable: the simplest way to serialise an entity's state changes.
template <class Self, class Work, class OnOk, class OnErr>
void db_await(Self* self, const db_actor& db, Work work, OnOk on_ok, OnErr on_err) {
  auto [task, out] = make_db_task(std::move(work));
  self->request(db, db_timeout, db_atom_v, task)
    .await([out = out, on_ok = std::move(on_ok)](caf::ok_atom) mutable { on_ok(std::move(*out)); },
           std::move(on_err));
}

} // namespace boxoffice
