#include "storage/admin_queries.hpp"

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

// The single text cell of a query, "null" when it has no row or is NULL.
std::string json_cell(const pg_rows& rows) {
  return rows.empty() || rows.is_null(0, 0) ? std::string{"null"} : rows.text(0, 0);
}

} // namespace

bool ready_probe(pg_connection& conn) {
  return conn.exec("SELECT 1").size() == 1;
}

std::string sagas_json(pg_connection& conn, const std::string& state) {
  return json_cell(conn.exec(
    "SELECT COALESCE(json_agg(x ORDER BY x.id DESC), '[]')::text FROM ("
    " SELECT s.id, s.kind, s.reservation_id AS \"reservationId\", s.user_id AS \"userId\","
    " s.amount, s.state, s.step, s.error, s.created_at AS \"createdAt\","
    " (SELECT json_agg(json_build_object('step', t.step, 'outcome', t.outcome, 'at', t.at)"
    "  ORDER BY t.at) FROM saga_steps t WHERE t.saga_id = s.id) AS steps"
    " FROM sagas s WHERE ($1 = '' OR s.state = $1) ORDER BY s.id DESC LIMIT 200) x",
    params(state)));
}

std::map<std::string, int64_t> saga_counts(pg_connection& conn) {
  std::map<std::string, int64_t> out;
  auto rows = conn.exec("SELECT state, count(*) FROM sagas GROUP BY state");
  for (int i = 0; i < rows.size(); ++i)
    out[rows.text(i, 0)] = rows.int64(i, 1);
  return out;
}

std::optional<entity_table> entity_table_of(const std::string& type) {
  static const std::map<std::string, entity_table> by_type = {
    {"seat", entity_table::seat},         {"reservation", entity_table::reservation},
    {"wallet", entity_table::wallet},     {"saga", entity_table::saga},
    {"schedule", entity_table::schedule},
  };
  auto i = by_type.find(type);
  if (i == by_type.end())
    return std::nullopt;
  return i->second;
}

std::string entity_row_json(pg_connection& conn, entity_table table, int64_t id,
                            int64_t seat_number) {
  switch (table) {
    case entity_table::seat:
      return json_cell(conn.exec(
        "SELECT json_build_object('seat', row_to_json(s), 'liveReservation', "
        "(SELECT row_to_json(r) FROM reservations r WHERE r.schedule_id = s.schedule_id "
        "AND r.seat_number = s.seat_number AND r.status IN ('HELD','PAYING','CONFIRMED')))"
        "::text FROM seats s WHERE s.schedule_id = $1 AND s.seat_number = $2",
        params(id, seat_number)));
    case entity_table::reservation:
      return json_cell(
        conn.exec("SELECT row_to_json(t)::text FROM reservations t WHERE id = $1", params(id)));
    case entity_table::wallet:
      return json_cell(
        conn.exec("SELECT row_to_json(t)::text FROM wallets t WHERE user_id = $1", params(id)));
    case entity_table::saga:
      return json_cell(
        conn.exec("SELECT row_to_json(t)::text FROM sagas t WHERE id = $1", params(id)));
    case entity_table::schedule:
      return json_cell(
        conn.exec("SELECT row_to_json(t)::text FROM schedules t WHERE id = $1", params(id)));
  }
  return "null";
}

} // namespace boxoffice::storage
