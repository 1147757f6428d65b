#pragma once
// Every typed actor interface of boxoffice in one place: who may say what to
// whom. The functions that implement them live in actors/. The one exception
// is the db actor's protocol (actors/db_protocol.hpp): it carries storage
// tasks, and messages/ knows nothing of storage.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>

#include "messages/seat_board.hpp"
#include "messages/vocabulary.hpp"

// A shared pointer to a board that seat actors keep writing: it never leaves
// the process, so CAF need not know how to serialize it.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(boxoffice::seat_board_ptr)

namespace boxoffice {

using caf::reacts_to;
using caf::replies_to;

// Every long-running actor answers a status request with its state as data:
// a "type" entry naming its kind plus its own fields. Only http/ renders it.
using status_iface = caf::typed_actor<replies_to<status_atom>::with<caf::settings>>;

// The directory of inspectable actors: entities register when they start and
// drop out when they stop. Its own status is the summary over its members,
// whose status requests fan out with a deadline.
using inspector_actor =
  caf::typed_actor<reacts_to<caf::put_atom, std::string, std::string, caf::actor>, // type, id,
                                                                                   // actor
                   // type, id: that actor's status; empty when no such actor is live
                   replies_to<caf::get_atom, std::string, std::string>::with<caf::settings>,
                   // type -> count from the directory alone, asking no member:
                   // cheap enough for the console's once-a-second sampler
                   replies_to<caf::get_atom>::with<caf::settings>>::extend_with<status_iface>;

// Delivers committed outbox events to the data platform. Rows handed over
// right after their commit are the fast path; a periodic scan of the outbox
// is the backstop.
using dispatcher_actor =
  caf::typed_actor<reacts_to<committed_events>, reacts_to<tick_atom>, reacts_to<flush_atom>,
                   reacts_to<prune_atom>, reacts_to<delivery_report>,
                   replies_to<list_atom>::with<std::string>,          // dead letters as JSON
                   replies_to<replay_atom, int64_t>::with<int64_t>>:: // row id, 0: all dead
  extend_with<status_iface>;

// One seat of one schedule: AVAILABLE -> HELD -> SOLD, released on expiry or
// cancellation. Rejects a taken seat from memory, without the database.
// tick: its own idle check; idle: its schedule lets it go (passivation).
using seat_actor =
  caf::typed_actor<replies_to<hold_atom, hold_request>::with<reservation_view>,
                   replies_to<sell_atom, int64_t>::with<caf::ok_atom>,
                   replies_to<release_atom, int64_t>::with<caf::ok_atom>, reacts_to<tick_atom>,
                   reacts_to<idle_atom>>::extend_with<status_iface>;

// One schedule: its seat board (list: shared, never copied; this node only)
// and the directory of its seat actors, which write their changes on the board.
using schedule_actor =
  caf::typed_actor<replies_to<list_atom>::with<seat_board_ptr>,
                   replies_to<caf::get_atom>::with<schedule_info>,
                   replies_to<hold_atom, hold_request>::with<reservation_view>,
                   replies_to<sell_atom, int32_t, int64_t>::with<caf::ok_atom>,
                   replies_to<release_atom, int32_t, int64_t>::with<caf::ok_atom>,
                   // A seat actor idle for a while: its seat number, the requests it has
                   // handled and its owner (reservation id, 0: none).
                   reacts_to<idle_atom, int32_t, uint64_t, int64_t>>::extend_with<status_iface>;

// Concerts and their schedules; owns the schedule actors.
using catalogue_actor = caf::typed_actor<
  replies_to<list_atom>::with<concert_list>, replies_to<list_atom, int64_t>::with<schedule_list>,
  replies_to<caf::get_atom, int64_t, int64_t>::with<schedule_actor>,
  replies_to<caf::get_atom, int64_t>::with<schedule_actor>>::extend_with<status_iface>;

// One reservation: HELD -> PAYING -> CONFIRMED, or EXPIRED / CANCELLED. Owns
// the hold's expiry, which it re-arms from expires_at whenever it loads.
using reservation_actor = caf::typed_actor<
  replies_to<caf::get_atom>::with<reservation_view>,
  replies_to<pay_atom, int64_t>::with<reservation_view>,   // saga id: HELD -> PAYING
  replies_to<unpay_atom, int64_t>::with<reservation_view>, // saga id: PAYING -> HELD
  // A payment in one transaction: HELD -> PAYING in memory only, then PAYING
  // -> CONFIRMED once it committed (paid) or back to HELD (unpay).
  replies_to<pay_atom>::with<reservation_view>, replies_to<unpay_atom>::with<reservation_view>,
  reacts_to<paid_atom, int64_t>,                            // saga id
  replies_to<confirm_atom, int64_t>::with<payment_view>,    // saga id: PAYING -> CONFIRMED
  replies_to<cancel_atom>::with<reservation_view>,          // HELD -> CANCELLED
  replies_to<refund_atom, int64_t>::with<reservation_view>, // saga id: CONFIRMED -> CANCELLED
  reacts_to<expire_atom, uint64_t>, reacts_to<idle_atom>>::extend_with<status_iface>;

// Finds (loading lazily) or adopts reservation actors.
using reservation_registry_actor =
  caf::typed_actor<replies_to<caf::get_atom, int64_t>::with<reservation_actor>,
                   reacts_to<adopt_atom, reservation_view>, reacts_to<load_atom>,
                   reacts_to<caf::put_atom, caf::actor>>::extend_with<status_iface>;

// One user's points: charge, debit for a saga, refund; never negative.
using wallet_actor = caf::typed_actor<
  replies_to<caf::get_atom>::with<int64_t>, replies_to<charge_atom, int64_t>::with<int64_t>,
  replies_to<debit_atom, int64_t, int64_t>::with<int64_t>,  // saga, amount
  replies_to<refund_atom, int64_t, int64_t>::with<int64_t>, // saga, amount
  // The payment's one transaction: the payment and its saga's id.
  replies_to<pay_atom, booking_payment>::with<payment_view, int64_t>,
  replies_to<load_atom>::with<int64_t>, // re-read after another's refund
  replies_to<history_atom>::with<ledger>, reacts_to<idle_atom>>::extend_with<status_iface>;

using wallet_registry_actor = caf::typed_actor<
  replies_to<caf::get_atom, int64_t>::with<wallet_actor>>::extend_with<status_iface>;

// Queue tokens, admission at a fixed rate up to a cap, idle expiry.
using waiting_room_actor =
  caf::typed_actor<replies_to<token_atom, int64_t>::with<queue_ticket>,
                   replies_to<poll_atom, std::string>::with<queue_ticket>,
                   replies_to<check_atom, std::string, int64_t>::with<caf::ok_atom>,
                   reacts_to<leave_atom, int64_t>, reacts_to<tick_atom>>::extend_with<status_iface>;

// One coordinator per payment or cancellation: drives the steps through the
// entity actors and compensates in reverse when one fails.
using payment_saga_actor =
  caf::typed_actor<replies_to<pay_atom>::with<payment_view>,
                   reacts_to<tick_atom>>::extend_with<status_iface>; // tick: retry a step
using cancellation_saga_actor =
  caf::typed_actor<replies_to<cancel_atom>::with<reservation_view>,
                   reacts_to<tick_atom>>::extend_with<status_iface>; // tick: retry

// Starts payment and cancellation sagas, owns Idempotency-Keys, and resumes
// unfinished sagas at start-up.
using saga_manager_actor =
  caf::typed_actor<replies_to<pay_atom, payment_request, std::string>::with<api_answer>,
                   replies_to<cancel_atom, reservation_view>::with<reservation_view>,
                   reacts_to<load_atom>>::extend_with<status_iface>;

// What a node lends the others over the middleman. The waiting room and the
// dispatcher run on one node at a time, the coordinator (the owner of
// partition 0); elsewhere these handles are invalid.
struct node_handles {
  std::string node_id;
  wallet_registry_actor wallets;
  waiting_room_actor waiting_room;
  dispatcher_actor dispatcher;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, node_handles& x) {
  return f(caf::meta::type_name("node_handles"), x.node_id, x.wallets, x.waiting_room,
           x.dispatcher);
}

// One per node, published on cluster.port: the front doors of other nodes
// forward the HTTP requests of this node's partitions here, and learn its
// handles.
using node_actor =
  caf::typed_actor<replies_to<forward_atom, forwarded_request>::with<forwarded_response>,
                   // This node's own answer to a forwarded request (its number), back
                   // from the api bridge that served it.
                   reacts_to<forward_atom, uint64_t, forwarded_response>,
                   replies_to<caf::get_atom>::with<node_handles>>::extend_with<status_iface>;

} // namespace boxoffice

// The handles that travel between nodes in messages.
CAF_BEGIN_TYPE_ID_BLOCK(boxoffice_handles, caf::id_block::boxoffice::end)

CAF_ADD_TYPE_ID(boxoffice_handles, (boxoffice::wallet_actor))
CAF_ADD_TYPE_ID(boxoffice_handles, (boxoffice::waiting_room_actor))
CAF_ADD_TYPE_ID(boxoffice_handles, (boxoffice::dispatcher_actor))
CAF_ADD_TYPE_ID(boxoffice_handles, (boxoffice::node_handles))
CAF_ADD_TYPE_ID(boxoffice_handles, (boxoffice::node_actor))

CAF_END_TYPE_ID_BLOCK(boxoffice_handles)
