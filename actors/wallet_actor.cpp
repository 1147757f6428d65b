#include "actors/wallet_actor.hpp"

#include "actors/inspector_actor.hpp"
#include "actors/log_failure.hpp"

#include "actors/db_call.hpp"
#include "storage/booking_store.hpp"
#include "storage/payment_commit.hpp"

namespace boxoffice {

namespace {

using wallet_ptr = wallet_actor::stateful_pointer<wallet_state>;

// Re-reads the balance: after a change whose outcome is unknown (it may have
// committed although it was reported as failed), or after a refund that
// another actor's transaction made.
template <class OnOk, class OnErr> void refresh(wallet_ptr self, OnOk on_ok, OnErr on_err) {
  db_await(
    self, self->state.db,
    [user = self->state.user_id](storage::pg_connection& c) {
      return storage::wallet_balance(c, user);
    },
    [self, on_ok](int64_t balance) mutable {
      self->state.balance = balance;
      on_ok(balance);
    },
    std::move(on_err));
}

// A change reported as failed may have committed all the same: take the
// database's balance.
void reread_after_failure(wallet_ptr self) {
  refresh(
    self, [](int64_t) {},
    log_failure("wallet " + std::to_string(self->state.user_id) + ": re-reading"));
}

caf::result<int64_t> reload(wallet_ptr self) {
  auto rp = self->make_response_promise<int64_t>();
  refresh(
    self, [rp](int64_t balance) mutable { rp.deliver(balance); },
    [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// Runs one balance change and adopts the committed balance.
template <class Work> caf::result<int64_t> change(wallet_ptr self, Work work) {
  self->state.last_used = caf::make_timestamp();
  auto rp = self->make_response_promise<int64_t>();
  db_await(
    self, self->state.db, std::move(work),
    [self, rp](int64_t balance) mutable {
      self->state.balance = balance;
      rp.deliver(balance);
    },
    [self, rp](caf::error& err) mutable {
      rp.deliver(err);
      reread_after_failure(self);
    });
  return rp;
}

// Unique per charge request, across restarts: the ledger's unique index on
// it makes a rerun of the same transaction a no-op.
std::string new_request_id(wallet_ptr self) {
  auto& st = self->state;
  return "charge-" + std::to_string(st.user_id) + "-" + std::to_string(st.request_ids()) + "-" +
         std::to_string(st.request_ids());
}

caf::result<int64_t> debit(wallet_ptr self, int64_t saga_id, int64_t amount) {
  self->state.last_used = caf::make_timestamp();
  auto rp = self->make_response_promise<int64_t>();
  // No memory pre-check: a resumed saga's debit may already be in the ledger.
  db_await(
    self, self->state.db,
    [user = self->state.user_id, saga_id, amount](storage::pg_connection& c) {
      return storage::debit_wallet(c, user, saga_id, amount);
    },
    [self, rp](std::optional<int64_t> balance) mutable {
      if (!balance) {
        rp.deliver(make_error(booking_errc::insufficient_balance,
                              "balance " + std::to_string(self->state.balance) +
                                " is too low for this payment"));
        return;
      }
      self->state.balance = *balance;
      rp.deliver(*balance);
    },
    [self, rp](caf::error& err) mutable {
      rp.deliver(err);
      reread_after_failure(self);
    });
  return rp;
}

// A payment's one transaction (storage::pay_booking), run here because this
// actor serialises every change of the balance: nothing else debits it
// meanwhile. wrong_state means nothing was written; any other error leaves the
// outcome open for the caller to settle.
caf::result<payment_view, int64_t> pay_booking(wallet_ptr self, booking_payment booking) {
  self->state.last_used = caf::make_timestamp();
  if (self->state.balance < booking.reservation.price)
    return make_error(booking_errc::wrong_state, "too few points for a payment in one step");
  auto rp = self->make_response_promise<payment_view, int64_t>();
  db_await(
    self, self->state.db,
    [booking, answer = self->state.cfg.payment_answer](storage::pg_connection& c) {
      return storage::pay_booking(c, booking, answer);
    },
    [self, rp](storage::paid_booking out) mutable {
      if (!out.paid) {
        rp.deliver(make_error(booking_errc::wrong_state, "the payment did not fit in one step"));
        return;
      }
      self->state.balance = out.balance;
      rp.deliver(out.payment, out.saga_id);
    },
    [self, rp](caf::error& err) mutable {
      rp.deliver(err);
      reread_after_failure(self);
    });
  return rp;
}

} // namespace

wallet_actor::behavior_type wallet_actor_impl(wallet_actor::stateful_pointer<wallet_state> self,
                                              int64_t user_id, db_actor db, booking_config cfg) {
  auto& st = self->state;
  st.user_id = user_id;
  st.db = std::move(db);
  st.cfg = cfg;
  st.last_used = caf::make_timestamp();
  register_inspectable(self, "wallet", std::to_string(user_id));
  db_await(
    self, st.db,
    [user_id](storage::pg_connection& c) { return storage::wallet_balance(c, user_id); },
    [self](int64_t balance) { self->state.balance = balance; },
    [self, user_id](caf::error& err) {
      log_failure_of("wallet " + std::to_string(user_id) + ": loading (it stops)", err);
      self->quit();
    });
  self->delayed_send(self, std::chrono::seconds(cfg.idle_seconds), idle_atom_v);
  return {
    [=](caf::get_atom) {
      self->state.last_used = caf::make_timestamp();
      return self->state.balance;
    },
    [=](charge_atom, int64_t amount) {
      return change(self, [user = self->state.user_id, amount,
                           id = new_request_id(self)](storage::pg_connection& c) {
        return storage::charge_wallet(c, user, amount, id);
      });
    },
    [=](load_atom) {
      self->state.last_used = caf::make_timestamp();
      return reload(self);
    },
    [=](debit_atom, int64_t saga_id, int64_t amount) { return debit(self, saga_id, amount); },
    [=](pay_atom, booking_payment booking) { return pay_booking(self, std::move(booking)); },
    [=](refund_atom, int64_t saga_id, int64_t amount) {
      return change(self, [user = self->state.user_id, saga_id, amount](storage::pg_connection& c) {
        return storage::refund_wallet(c, user, saga_id, amount);
      });
    },
    [=](history_atom) -> caf::result<ledger> {
      auto rp = self->make_response_promise<ledger>();
      db_then(
        self, self->state.db,
        [user = self->state.user_id](storage::pg_connection& c) {
          return storage::wallet_history(c, user, 1000);
        },
        [rp](ledger entries) mutable { rp.deliver(std::move(entries)); },
        [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [=](idle_atom) {
      auto idle_for = caf::make_timestamp() - self->state.last_used;
      if (idle_for >= std::chrono::seconds(self->state.cfg.idle_seconds))
        return self->quit();
      self->delayed_send(self, std::chrono::seconds(self->state.cfg.idle_seconds), idle_atom_v);
    },
    [=](status_atom) {
      caf::settings s;
      s["type"] = "wallet";
      s["id"] = std::to_string(self->state.user_id);
      s["balance"] = self->state.balance;
      s["mailbox"] = self->mailbox().size();
      return s;
    },
  };
}

} // namespace boxoffice
