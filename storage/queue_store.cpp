#include "storage/queue_store.hpp"

#include "storage/pg.hpp"
#include "storage/state_column.hpp"

namespace boxoffice::storage {

namespace {

constexpr const char* token_columns =
  "token, user_id, place, status, "
  "COALESCE((extract(epoch FROM active_until) * 1000)::bigint, 0)";

token_row token_from(const pg_rows& r, int i) {
  return {r.text(i, 0), r.int64(i, 1), r.int64(i, 2), state_column<token_status>(r, i, 3),
          r.int64(i, 4)};
}

// A PostgreSQL array literal of values that need no quoting (hex, digits, words).
template <class F> std::string array_of(const std::vector<token_row>& rows, F field) {
  std::string out = "{";
  for (size_t i = 0; i < rows.size(); ++i)
    out += (i ? "," : "") + field(rows[i]);
  return out + "}";
}

} // namespace

token_row issue_token(pg_connection& conn, const std::string& token, int64_t user_id,
                      const std::string& expired) {
  // An expired token of this user makes room for a new one at the back.
  conn.exec("DELETE FROM queue_tokens WHERE user_id = $1 AND (status = 'EXPIRED' OR token = $2)",
            params(user_id, expired));
  conn.exec("INSERT INTO queue_tokens (token, user_id, status) VALUES ($1, $2, 'WAITING') "
            "ON CONFLICT (user_id) DO NOTHING",
            params(token, user_id));
  auto rows =
    conn.exec(std::string{"SELECT "} + token_columns + " FROM queue_tokens WHERE user_id = $1",
              params(user_id));
  return token_from(rows, 0);
}

std::vector<token_row> live_tokens(pg_connection& conn) {
  auto rows = conn.exec(std::string{"SELECT "} + token_columns +
                        " FROM queue_tokens WHERE status IN ('WAITING', 'ACTIVE') ORDER BY place");
  std::vector<token_row> out;
  out.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i)
    out.push_back(token_from(rows, i));
  return out;
}

void save_tokens(pg_connection& conn, const std::vector<token_row>& rows) {
  if (rows.empty())
    return;
  conn.exec(
    "UPDATE queue_tokens q SET status = u.status, "
    "active_until = CASE WHEN u.until = 0 THEN NULL ELSE to_timestamp(u.until / 1000.0) END "
    "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(token, status, until) "
    "WHERE q.token = u.token",
    params(array_of(rows, [](auto& r) { return r.token; }),
           array_of(rows, [](auto& r) { return to_string(r.status); }),
           array_of(rows, [](auto& r) { return std::to_string(r.active_until_ms); })));
}

} // namespace boxoffice::storage
