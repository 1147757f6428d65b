#include "storage/catalogue_store.hpp"

#include "storage/pg.hpp"
#include "storage/state_column.hpp"

namespace boxoffice::storage {

namespace {

// ISO-8601 UTC with milliseconds, as the API and the events use.
constexpr const char* iso_utc =
  "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

std::string iso(const char* column) {
  char buf[160];
  std::snprintf(buf, sizeof buf, iso_utc, column);
  return buf;
}

} // namespace

concert_list load_concerts(pg_connection& conn) {
  auto rows = conn.exec("SELECT id, title, artist, venue FROM concerts ORDER BY id");
  concert_list out;
  for (int i = 0; i < rows.size(); ++i)
    out.push_back({rows.int64(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3)});
  return out;
}

std::optional<schedule_list> load_schedules(pg_connection& conn, int64_t concert_id) {
  if (conn.exec("SELECT 1 FROM concerts WHERE id = $1", params(concert_id)).empty())
    return std::nullopt;
  auto rows = conn.exec("SELECT s.id, s.concert_id, " + iso("s.starts_at") +
                          ", (SELECT count(*) FROM seats WHERE schedule_id = s.id) "
                          "FROM schedules s WHERE s.concert_id = $1 ORDER BY s.starts_at, s.id",
                        params(concert_id));
  schedule_list out;
  for (int i = 0; i < rows.size(); ++i) {
    auto total = static_cast<int32_t>(rows.int64(i, 3));
    out.push_back({rows.int64(i, 0), rows.int64(i, 1), rows.text(i, 2), total, total});
  }
  return out;
}

std::map<int64_t, int32_t> available_seats(pg_connection& conn,
                                           const std::vector<int64_t>& schedule_ids) {
  std::string ids;
  for (auto id : schedule_ids)
    ids += (ids.empty() ? "" : ",") + std::to_string(id);
  auto rows = conn.exec("SELECT s.id, (SELECT count(*) FROM seats WHERE schedule_id = s.id) - "
                        "(SELECT count(*) FROM reservations r WHERE r.schedule_id = s.id AND "
                        "r.status IN ('HELD', 'PAYING', 'CONFIRMED')) "
                        "FROM schedules s WHERE s.id = ANY($1::bigint[])",
                        params("{" + ids + "}"));
  std::map<int64_t, int32_t> out;
  for (int i = 0; i < rows.size(); ++i)
    out[rows.int64(i, 0)] = static_cast<int32_t>(rows.int64(i, 1));
  return out;
}

std::optional<schedule_snapshot> load_schedule(pg_connection& conn, int64_t schedule_id) {
  auto head = conn.exec("SELECT s.id, s.concert_id, " + iso("s.starts_at") +
                          ", c.title, c.artist, c.venue FROM schedules s "
                          "JOIN concerts c ON c.id = s.concert_id WHERE s.id = $1",
                        params(schedule_id));
  if (head.empty())
    return std::nullopt;
  schedule_snapshot snap;
  snap.info = {head.int64(0, 0), head.int64(0, 1), head.text(0, 2), 0, 0};
  snap.facts = {snap.info.concert_id, head.text(0, 3), head.text(0, 4),
                head.text(0, 5),      snap.info.id,    snap.info.starts_at};
  auto rows =
    conn.exec("SELECT s.seat_number, s.price, r.id, r.user_id, r.status, "
              "  (extract(epoch FROM r.expires_at) * 1000)::bigint "
              "FROM seats s LEFT JOIN reservations r ON r.schedule_id = s.schedule_id "
              "  AND r.seat_number = s.seat_number AND r.status IN ('HELD', 'PAYING', 'CONFIRMED') "
              "WHERE s.schedule_id = $1 ORDER BY s.seat_number",
              params(schedule_id));
  snap.seats.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    seat_row r;
    r.seat_number = static_cast<int32_t>(rows.int64(i, 0));
    r.price = rows.int64(i, 1);
    if (!rows.is_null(i, 2)) {
      r.reservation_id = rows.int64(i, 2);
      r.user_id = rows.int64(i, 3);
      r.reservation_status = state_column<reservation_status>(rows, i, 4);
      r.expires_at_ms = rows.int64(i, 5);
    }
    snap.seats.push_back(std::move(r));
  }
  snap.info.total_seats = static_cast<int32_t>(snap.seats.size());
  return snap;
}

} // namespace boxoffice::storage
