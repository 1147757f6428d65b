#include "storage/outbox_store.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "storage/pg.hpp"
#include "util/clock.hpp"
#include "util/iso_time.hpp"

namespace boxoffice::storage {

namespace {

std::string new_event_id() {
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

// The sequence lives on the aggregate's own row, so pruning delivered events
// never resets it.
int64_t next_sequence(pg_connection& conn, const event_draft& d) {
  const char* sql = d.aggregate_type == "order"
                      ? "UPDATE payments SET event_seq = event_seq + 1 WHERE id = $1 "
                        "RETURNING event_seq"
                      : "UPDATE reservations SET event_seq = event_seq + 1 WHERE id = $1 "
                        "RETURNING event_seq";
  auto rows = conn.exec(sql, params(d.aggregate_id));
  if (rows.empty())
    throw pg_error("event for a missing aggregate " + d.aggregate_type, "P0002");
  return rows.int64(0, 0);
}

constexpr const char* iso_sql =
  "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

std::string iso(const char* col) {
  char buf[160];
  std::snprintf(buf, sizeof buf, iso_sql, col);
  return buf;
}

} // namespace

namespace {

constexpr int outbox_columns = 8;

// The outbox row of an event as the dispatcher will hold it; its id comes
// from the insert.
outbox_row new_row(const event_draft& d, int64_t seq) {
  outbox_row row;
  row.event_id = new_event_id();
  row.stream = d.stream;
  row.event_type = d.type;
  row.aggregate = d.aggregate_type + "/" + std::to_string(d.aggregate_id);
  row.sequence = seq;
  row.age_base_ms = now_ms();
  auto occurred = iso_millis(row.age_base_ms);
  row.payload = nlohmann::json{
    {"eventId", row.event_id},
    {"eventType", d.type},
    {"occurredAt", occurred},
    {"aggregateType", d.aggregate_type},
    {"aggregateId", std::to_string(d.aggregate_id)},
    {"sequence", seq},
    {"data",
     d.data}}.dump();
  return row;
}

// Its insert parameters: event id, stream, type, aggregate type and id,
// sequence, envelope, occurred at.
void add_params(pg_params& out, const event_draft& d, const outbox_row& row) {
  auto more =
    params(row.event_id, d.stream, d.type, d.aggregate_type, std::to_string(d.aggregate_id),
           row.sequence, row.payload, iso_millis(row.age_base_ms));
  out.insert(out.end(), more.begin(), more.end());
}

// Takes the ids the insert returned (matched by event id: RETURNING does not
// promise the order of VALUES) and keeps the rows for the dispatcher.
void keep_inserted(pg_connection& conn, std::vector<outbox_row> rows, const pg_rows& ids) {
  for (int i = 0; i < ids.size(); ++i)
    for (auto& row : rows)
      if (row.event_id == ids.text(i, 1))
        row.id = ids.int64(i, 0);
  for (auto& row : rows)
    conn.appended.push_back(std::move(row));
}

// `offset`: parameters $1..$offset belong to a statement before this one.
std::string insert_sql(size_t rows, size_t offset = 0) {
  std::string sql = "INSERT INTO outbox (event_id, stream, event_type, aggregate_type, "
                    "aggregate_id, sequence, payload, occurred_at) VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (int c = 0; c < outbox_columns; ++c)
      sql += (c ? ", $" : "$") + std::to_string(offset + r * outbox_columns + c + 1);
    sql += ")";
  }
  return sql + " RETURNING id, event_id";
}

} // namespace

std::string append_event(pg_connection& conn, const event_draft& d) {
  auto row = new_row(d, next_sequence(conn, d));
  pg_params args;
  add_params(args, d, row);
  auto event_id = row.event_id;
  keep_inserted(conn, {std::move(row)}, conn.exec(insert_sql(1), args));
  return event_id;
}

void append_numbered_events(pg_connection& conn, const std::vector<numbered_event>& events,
                            const std::string& with_write, const pg_params& with_params) {
  if (events.empty())
    return;
  pg_params all = with_params;
  std::vector<outbox_row> rows;
  for (auto& e : events) {
    rows.push_back(new_row(e.draft, e.sequence));
    add_params(all, e.draft, rows.back());
  }
  auto sql = insert_sql(events.size(), with_params.size());
  keep_inserted(
    conn, std::move(rows),
    conn.exec(with_write.empty() ? sql : "WITH before AS (" + with_write + ") " + sql, all));
}

nlohmann::json reservation_event_data(pg_connection& conn, int64_t reservation_id) {
  auto r = conn.exec("SELECT r.id, r.user_id, c.id, c.title, c.artist, c.venue, s.id, " +
                       iso("s.starts_at") + ", r.seat_number, r.price, r.status, " +
                       iso("r.expires_at") + ", " + iso("r.created_at") +
                       " FROM reservations r JOIN schedules s ON s.id = r.schedule_id "
                       "JOIN concerts c ON c.id = s.concert_id WHERE r.id = $1",
                     params(reservation_id));
  if (r.empty())
    return nlohmann::json::object();
  return {{"reservationId", r.int64(0, 0)}, {"userId", r.int64(0, 1)},
          {"concertId", r.int64(0, 2)},     {"concertTitle", r.text(0, 3)},
          {"artist", r.text(0, 4)},         {"venue", r.text(0, 5)},
          {"scheduleId", r.int64(0, 6)},    {"scheduleStartsAt", r.text(0, 7)},
          {"seatNumber", r.int64(0, 8)},    {"price", r.int64(0, 9)},
          {"status", r.text(0, 10)},        {"expiresAt", r.text(0, 11)},
          {"reservedAt", r.text(0, 12)}};
}

nlohmann::json order_event_data(pg_connection& conn, int64_t payment_id) {
  auto r =
    conn.exec("SELECT p.id, p.reservation_id, p.user_id, p.amount, p.status, " + iso("p.paid_at") +
                ", " + iso("p.refunded_at") + ", c.id, c.title, s.id, " + iso("s.starts_at") +
                ", rs.seat_number FROM payments p "
                "JOIN reservations rs ON rs.id = p.reservation_id "
                "JOIN schedules s ON s.id = rs.schedule_id "
                "JOIN concerts c ON c.id = s.concert_id WHERE p.id = $1",
              params(payment_id));
  if (r.empty())
    return nlohmann::json::object();
  nlohmann::json j{{"orderId", r.int64(0, 0)},
                   {"paymentId", r.int64(0, 0)},
                   {"reservationId", r.int64(0, 1)},
                   {"userId", r.int64(0, 2)},
                   {"amount", r.int64(0, 3)},
                   {"status", r.text(0, 4)},
                   {"paidAt", r.text(0, 5)},
                   {"concertId", r.int64(0, 7)},
                   {"concertTitle", r.text(0, 8)},
                   {"scheduleId", r.int64(0, 9)},
                   {"scheduleStartsAt", r.text(0, 10)},
                   {"seatNumber", r.int64(0, 11)}};
  if (!r.is_null(0, 6))
    j["refundedAt"] = r.text(0, 6);
  return j;
}

nlohmann::json reservation_event_data(const reservation_view& r, const schedule_facts& facts) {
  return {{"reservationId", r.id},
          {"userId", r.user_id},
          {"concertId", facts.concert_id},
          {"concertTitle", facts.concert_title},
          {"artist", facts.artist},
          {"venue", facts.venue},
          {"scheduleId", r.schedule_id},
          {"scheduleStartsAt", facts.starts_at},
          {"seatNumber", r.seat_number},
          {"price", r.price},
          {"status", to_string(r.status)},
          {"expiresAt", iso_millis(r.expires_at_ms)},
          {"reservedAt", iso_millis(r.reserved_at_ms)}};
}

nlohmann::json order_event_data(const payment_view& p, const reservation_view& r,
                                const schedule_facts& facts) {
  return {{"orderId", p.id},
          {"paymentId", p.id},
          {"reservationId", p.reservation_id},
          {"userId", p.user_id},
          {"amount", p.amount},
          {"status", p.status},
          {"paidAt", iso_millis(p.paid_at_ms)},
          {"concertId", facts.concert_id},
          {"concertTitle", facts.concert_title},
          {"scheduleId", r.schedule_id},
          {"scheduleStartsAt", facts.starts_at},
          {"seatNumber", r.seat_number}};
}

} // namespace boxoffice::storage

namespace boxoffice::storage {

namespace {

std::string id_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

} // namespace

std::vector<outbox_row> pending_events(pg_connection& conn, int64_t after_id, int limit) {
  // Ids are taken at insert, not at commit: a row may commit after the cursor
  // passed its id. An aggregate's later event cannot commit before its earlier
  // one (the aggregate's row lock orders them), so taking every pending
  // predecessor of the fresh rows along keeps per-aggregate order intact.
  auto rows = conn.exec(
    "WITH fresh AS (SELECT * FROM outbox WHERE status = 'PENDING' AND id > $1 "
    "  ORDER BY id LIMIT $2), "
    "picked AS (SELECT * FROM fresh UNION SELECT o.* FROM outbox o JOIN fresh f "
    "  ON o.aggregate_type = f.aggregate_type AND o.aggregate_id = f.aggregate_id "
    "  AND o.sequence < f.sequence WHERE o.status = 'PENDING') "
    "SELECT id, event_id, stream, event_type, aggregate_type || '/' || aggregate_id, sequence, "
    "payload, attempts, (extract(epoch FROM COALESCE(replayed_at, occurred_at)) * 1000)::bigint, "
    "(extract(epoch FROM next_attempt_at) * 1000)::bigint FROM picked ORDER BY id",
    params(after_id, limit));
  std::vector<outbox_row> out;
  out.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i)
    out.push_back({rows.int64(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3),
                   rows.text(i, 4), rows.int64(i, 5), rows.text(i, 6),
                   static_cast<int>(rows.int64(i, 7)), rows.int64(i, 8), rows.int64(i, 9)});
  return out;
}

outbox_counts count_outbox(pg_connection& conn) {
  auto r = conn.exec("SELECT count(*) FILTER (WHERE status = 'PENDING'), "
                     "count(*) FILTER (WHERE status = 'DEAD'), "
                     "count(*) FILTER (WHERE status = 'DELIVERED'), "
                     "COALESCE((extract(epoch FROM min(occurred_at) FILTER "
                     "(WHERE status = 'PENDING')) * 1000)::bigint, 0) FROM outbox");
  return {r.int64(0, 0), r.int64(0, 1), r.int64(0, 2), r.int64(0, 3)};
}

void mark_delivered(pg_connection& conn, const std::vector<int64_t>& ids) {
  conn.exec("UPDATE outbox SET status = 'DELIVERED', delivered_at = now(), "
            "attempts = attempts + 1 WHERE id = ANY($1::bigint[]) AND status = 'PENDING'",
            params(id_array(ids)));
}

void mark_retry(pg_connection& conn, int64_t id, int attempts, const std::string& error,
                int64_t next_attempt_ms) {
  conn.exec("UPDATE outbox SET attempts = $2, last_error = $3, "
            "next_attempt_at = to_timestamp($4 / 1000.0) WHERE id = $1 AND status = 'PENDING'",
            params(id, attempts, error, next_attempt_ms));
}

void mark_dead(pg_connection& conn, int64_t id, const std::string& error) {
  conn.exec("UPDATE outbox SET status = 'DEAD', last_error = $2, attempts = attempts + 1 "
            "WHERE id = $1 AND status = 'PENDING'",
            params(id, error));
}

std::string dead_letters(pg_connection& conn, int limit) {
  auto r = conn.exec(
    "SELECT COALESCE(json_agg(json_build_object('id', id, 'eventId', event_id, 'eventType', "
    "event_type, 'aggregate', aggregate_type || '/' || aggregate_id, 'sequence', sequence, "
    "'attempts', attempts, 'lastError', last_error, 'occurredAt', occurred_at) ORDER BY id "
    "DESC), "
    "'[]'::json)::text FROM (SELECT * FROM outbox WHERE status = 'DEAD' ORDER BY id DESC "
    "LIMIT $1) d",
    params(limit));
  return r.text(0, 0);
}

int64_t replay_dead(pg_connection& conn, int64_t id) {
  return conn
    .exec("UPDATE outbox SET status = 'PENDING', attempts = 0, next_attempt_at = now(), "
          "replayed_at = now() WHERE status = 'DEAD' AND ($1 = 0 OR id = $1)",
          params(id))
    .affected();
}

int64_t prune_delivered(pg_connection& conn, int retain_seconds) {
  return conn
    .exec("DELETE FROM outbox WHERE status = 'DELIVERED' "
          "AND delivered_at < now() - make_interval(secs => $1)",
          params(retain_seconds))
    .affected();
}

} // namespace boxoffice::storage
