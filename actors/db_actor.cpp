#include "actors/db_actor.hpp"

#include <caf/send.hpp>

#include "actors/inspector_actor.hpp"

#include "messages/errors.hpp"

namespace boxoffice {

db_actor::behavior_type db_actor_impl(db_actor::stateful_pointer<db_state> self,
                                      storage::db_pool* pool) {
  self->state.pool = pool;
  register_inspectable(self, "db", "main");
  // A promise dropped unanswered leaves its requester waiting for the whole
  // db_timeout (30 s), which is how long a shutdown would then take: answer
  // every pending task with an error before going.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // The tasks themselves finish on the storage threads; their reports to
    // this actor are then dropped.
    for (auto& entry : self->state.pending)
      entry.second.first.deliver(make_error(booking_errc::storage_failure, "shutting down"));
    self->state.pending.clear();
    self->quit(msg.reason);
  });
  return {
    [=](db_atom, storage::db_task_ptr task) -> caf::typed_response_promise<caf::ok_atom> {
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto id = self->state.next_id++;
      self->state.pending.emplace(id, std::make_pair(rp, task));
      // Runs on a storage thread: it may only send, never touch state.
      auto me = caf::actor_cast<db_actor>(self);
      task->done = [me, id](const storage::db_task&) { caf::anon_send(me, db_atom_v, id); };
      self->state.pool->submit(task);
      return rp;
    },
    [=](db_atom, uint64_t id) {
      auto i = self->state.pending.find(id);
      if (i == self->state.pending.end())
        return;
      auto [rp, task] = std::move(i->second);
      self->state.pending.erase(i);
      task->done = nullptr; // break the cycle task -> done -> handle
      // Sent before the answer, so an aggregate's next event (written only
      // after this answer) reaches the dispatcher after this one.
      if (task->ok && !task->events.empty() && self->state.dispatcher)
        self->send(self->state.dispatcher, committed_events{std::move(task->events)});
      if (task->ok)
        rp.deliver(caf::ok_atom_v);
      else
        rp.deliver(make_error(booking_errc::storage_failure, task->error));
    },
    [=](dispatcher_actor dispatcher) { self->state.dispatcher = std::move(dispatcher); },
    [=](status_atom) {
      auto pool = self->state.pool->stats();
      caf::settings s;
      s["type"] = "db";
      s["pending"] = self->state.pending.size();
      s["queued"] = pool.queued;
      s["executed"] = pool.executed;
      s["commits"] = pool.commits;
      s["failed"] = pool.failed;
      s["expired"] = pool.expired;
      s["workers"] = pool.workers;
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
