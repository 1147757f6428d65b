#pragma once
// Plain data exchanged between actors. Everything here is a value type with an
// inspect overload, so CAF can copy it into messages.

#include <caf/meta/type_name.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/states.hpp"

namespace boxoffice {

struct concert_info {
  int64_t id = 0;
  std::string title;
  std::string artist;
  std::string venue;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, concert_info& x) {
  return f(caf::meta::type_name("concert_info"), x.id, x.title, x.artist, x.venue);
}

struct schedule_info {
  int64_t id = 0;
  int64_t concert_id = 0;
  std::string starts_at; // ISO-8601 UTC
  int32_t total_seats = 0;
  int32_t available_seats = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, schedule_info& x) {
  return f(caf::meta::type_name("schedule_info"), x.id, x.concert_id, x.starts_at, x.total_seats,
           x.available_seats);
}

using concert_list = std::vector<concert_info>;
using schedule_list = std::vector<schedule_info>;

} // namespace boxoffice

namespace boxoffice {

struct hold_request {
  int64_t user_id = 0;
  int64_t schedule_id = 0;
  int32_t seat_number = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, hold_request& x) {
  return f(caf::meta::type_name("hold_request"), x.user_id, x.schedule_id, x.seat_number);
}

// A reservation as its actor knows it; also what the API returns.
struct reservation_view {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t schedule_id = 0;
  int32_t seat_number = 0;
  int64_t price = 0;
  reservation_status status = reservation_status::held;
  int64_t expires_at_ms = 0;  // epoch milliseconds
  int64_t saga_id = 0;        // the saga of a PAYING reservation, else 0
  int64_t reserved_at_ms = 0; // when the hold was made, epoch milliseconds
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reservation_view& x) {
  return f(caf::meta::type_name("reservation_view"), x.id, x.user_id, x.schedule_id, x.seat_number,
           x.price, x.status, x.expires_at_ms, x.saga_id, x.reserved_at_ms);
}

struct payment_view {
  int64_t id = 0;
  int64_t reservation_id = 0;
  int64_t user_id = 0;
  int64_t amount = 0;
  std::string status; // COMPLETED, REFUNDED
  int64_t paid_at_ms = 0;
};

inline bool operator==(const payment_view& a, const payment_view& b) {
  return a.id == b.id && a.reservation_id == b.reservation_id && a.user_id == b.user_id &&
         a.amount == b.amount && a.status == b.status && a.paid_at_ms == b.paid_at_ms;
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, payment_view& x) {
  return f(caf::meta::type_name("payment_view"), x.id, x.reservation_id, x.user_id, x.amount,
           x.status, x.paid_at_ms);
}

struct ledger_entry {
  int64_t id = 0;
  std::string kind; // CHARGE, PAYMENT, REFUND
  int64_t amount = 0;
  int64_t balance = 0;
  int64_t saga_id = 0;
  std::string created_at;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, ledger_entry& x) {
  return f(caf::meta::type_name("ledger_entry"), x.id, x.kind, x.amount, x.balance, x.saga_id,
           x.created_at);
}

using ledger = std::vector<ledger_entry>;

struct queue_ticket {
  std::string token;
  int64_t user_id = 0;
  token_status status = token_status::waiting;
  int64_t position = 0; // 0 once active
  int64_t eta_seconds = 0;
  int64_t poll_after_ms = 0;
  int64_t active_until_ms = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, queue_ticket& x) {
  return f(caf::meta::type_name("queue_ticket"), x.token, x.user_id, x.status, x.position,
           x.eta_seconds, x.poll_after_ms, x.active_until_ms);
}

// A payment request as the API received it; the hash identifies the body for
// Idempotency-Key replays.
struct payment_request {
  int64_t user_id = 0;
  int64_t reservation_id = 0;
  std::string idempotency_key; // empty: none
  std::string token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_request& x) {
  return f(caf::meta::type_name("payment_request"), x.user_id, x.reservation_id, x.idempotency_key,
           x.token);
}

// What the events of a schedule's bookings say about it; fixed once loaded.
struct schedule_facts {
  int64_t concert_id = 0;
  std::string concert_title;
  std::string artist;
  std::string venue;
  int64_t schedule_id = 0;
  std::string starts_at; // ISO-8601 UTC with milliseconds
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule_facts& x) {
  return f(caf::meta::type_name("schedule_facts"), x.concert_id, x.concert_title, x.artist, x.venue,
           x.schedule_id, x.starts_at);
}

// A payment completed in one transaction, from what the actors hold: the
// reservation as its actor knows it, its schedule's facts for the events, and
// the Idempotency-Key (empty: none) with the request's hash.
struct booking_payment {
  reservation_view reservation;
  schedule_facts facts;
  std::string idempotency_key;
  std::string request_hash;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, booking_payment& x) {
  return f(caf::meta::type_name("booking_payment"), x.reservation, x.facts, x.idempotency_key,
           x.request_hash);
}

// A stored HTTP answer (idempotent replays) or a fresh one.
struct api_answer {
  int32_t status = 0;
  std::string body;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, api_answer& x) {
  return f(caf::meta::type_name("api_answer"), x.status, x.body);
}

// The outcome of one delivery attempt of one outbox row.
struct delivery_report {
  int64_t row_id = 0;
  int32_t status = 0;       // 0: no HTTP answer
  std::string error;        // why there was no answer
  int32_t retry_after = -1; // seconds from Retry-After, -1 when absent
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_report& x) {
  return f(caf::meta::type_name("delivery_report"), x.row_id, x.status, x.error, x.retry_after);
}

// A committed outbox event as the dispatcher holds it, whether it came from a
// scan of the outbox or straight from the commit that wrote it.
struct outbox_row {
  int64_t id = 0;
  std::string event_id;
  std::string stream;
  std::string event_type;
  std::string aggregate; // "reservation/42": the unit of ordering
  int64_t sequence = 0;
  std::string payload;
  int32_t attempts = 0;
  int64_t age_base_ms = 0;     // occurred_at, or the last replay
  int64_t next_attempt_ms = 0; // epoch ms
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, outbox_row& x) {
  return f(caf::meta::type_name("outbox_row"), x.id, x.event_id, x.stream, x.event_type,
           x.aggregate, x.sequence, x.payload, x.attempts, x.age_base_ms, x.next_attempt_ms);
}

// The outbox rows one transaction committed, handed to the dispatcher by the
// db actor right after the commit (the fast path; the outbox scan is the
// backstop).
struct committed_events {
  std::vector<outbox_row> rows;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, committed_events& x) {
  return f(caf::meta::type_name("committed_events"), x.rows);
}

// An HTTP request taken by one node (the front door) and forwarded through the
// middleman to the node that owns its partition, which answers it as if it
// had come in there. `hops` stops a request from bouncing between two nodes
// whose views of the partition map differ for a moment.
struct forwarded_request {
  std::string method;
  std::string path;
  std::string query;
  std::string body;
  std::string token;
  std::string idempotency_key;
  std::string authorization;
  std::string if_none_match;
  std::string client_address;
  int32_t hops = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarded_request& x) {
  return f(caf::meta::type_name("forwarded_request"), x.method, x.path, x.query, x.body, x.token,
           x.idempotency_key, x.authorization, x.if_none_match, x.client_address, x.hops);
}

struct forwarded_response {
  int32_t status = 200;
  std::string body;
  std::vector<std::string> headers; // name, value, name, value, ...
  std::string content_type;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarded_response& x) {
  return f(caf::meta::type_name("forwarded_response"), x.status, x.body, x.headers, x.content_type);
}

} // namespace boxoffice
