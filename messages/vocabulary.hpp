#pragma once
// The atoms and custom message types of boxoffice, registered with CAF in one
// type-id block (the CAF 0.17.6 backport of 0.18's mechanism).

#include <caf/type_id.hpp>

#include "messages/types.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(boxoffice, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(boxoffice, (boxoffice::concert_info))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::schedule_info))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::hold_request))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::reservation_view))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::payment_view))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::ledger_entry))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::queue_ticket))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::payment_request))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::api_answer))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::delivery_report))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::schedule_facts))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::booking_payment))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::outbox_row))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::committed_events))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::forwarded_request))
CAF_ADD_TYPE_ID(boxoffice, (boxoffice::forwarded_response))

CAF_ADD_ATOM(boxoffice, boxoffice, list_atom, "list")
CAF_ADD_ATOM(boxoffice, boxoffice, hold_atom, "hold")
CAF_ADD_ATOM(boxoffice, boxoffice, sell_atom, "sell")
CAF_ADD_ATOM(boxoffice, boxoffice, release_atom, "release")
CAF_ADD_ATOM(boxoffice, boxoffice, expire_atom, "expire")
CAF_ADD_ATOM(boxoffice, boxoffice, pay_atom, "pay")
CAF_ADD_ATOM(boxoffice, boxoffice, unpay_atom, "unpay")
CAF_ADD_ATOM(boxoffice, boxoffice, confirm_atom, "confirm")
CAF_ADD_ATOM(boxoffice, boxoffice, cancel_atom, "cancel")
CAF_ADD_ATOM(boxoffice, boxoffice, charge_atom, "charge")
CAF_ADD_ATOM(boxoffice, boxoffice, debit_atom, "debit")
CAF_ADD_ATOM(boxoffice, boxoffice, refund_atom, "refund")
CAF_ADD_ATOM(boxoffice, boxoffice, history_atom, "history")
CAF_ADD_ATOM(boxoffice, boxoffice, token_atom, "token")
CAF_ADD_ATOM(boxoffice, boxoffice, poll_atom, "poll")
CAF_ADD_ATOM(boxoffice, boxoffice, check_atom, "check")
CAF_ADD_ATOM(boxoffice, boxoffice, leave_atom, "leave")
CAF_ADD_ATOM(boxoffice, boxoffice, tick_atom, "tick")
CAF_ADD_ATOM(boxoffice, boxoffice, status_atom, "status")
CAF_ADD_ATOM(boxoffice, boxoffice, replay_atom, "replay")
CAF_ADD_ATOM(boxoffice, boxoffice, load_atom, "load")
CAF_ADD_ATOM(boxoffice, boxoffice, adopt_atom, "adopt")
CAF_ADD_ATOM(boxoffice, boxoffice, idle_atom, "idle")
CAF_ADD_ATOM(boxoffice, boxoffice, db_atom, "db")
CAF_ADD_ATOM(boxoffice, boxoffice, flush_atom, "flush")
CAF_ADD_ATOM(boxoffice, boxoffice, prune_atom, "prune")
CAF_ADD_ATOM(boxoffice, boxoffice, paid_atom, "paid")
CAF_ADD_ATOM(boxoffice, boxoffice, forward_atom, "forward")

CAF_END_TYPE_ID_BLOCK(boxoffice)
