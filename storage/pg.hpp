#pragma once
// A thin, exception-based wrapper over libpq. Every statement is parameterised:
// values travel as text parameters ($1, $2, ...), never spliced into SQL.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/types.hpp"

struct pg_conn;
typedef struct pg_conn PGconn;
struct pg_result;
typedef struct pg_result PGresult;

namespace boxoffice::storage {

// A database failure, carrying the SQLSTATE so callers can tell a unique
// violation (23505) or a deadlock (40P01) from a broken connection.
class pg_error : public std::runtime_error {
public:
  pg_error(std::string message, std::string sqlstate)
      : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

private:
  std::string sqlstate_;
};

using pg_param = std::optional<std::string>;
using pg_params = std::vector<pg_param>;

// Converts C++ values to text parameters.
inline pg_param to_param(const std::string& x) {
  return x;
}
inline pg_param to_param(const char* x) {
  return std::string{x};
}
inline pg_param to_param(bool x) {
  return std::string{x ? "true" : "false"};
}
inline pg_param to_param(std::nullopt_t) {
  return std::nullopt;
}
template <class T> pg_param to_param(const std::optional<T>& x) {
  return x ? to_param(*x) : std::nullopt;
}
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>> pg_param to_param(T x) {
  return std::to_string(x);
}

template <class... Ts> pg_params params(const Ts&... xs) {
  return pg_params{to_param(xs)...};
}

// The rows of one statement's result.
class pg_rows {
public:
  explicit pg_rows(PGresult* res);
  pg_rows(pg_rows&& other) noexcept;
  pg_rows& operator=(pg_rows&&) = delete;
  pg_rows(const pg_rows&) = delete;
  ~pg_rows();

  int size() const;
  bool empty() const { return size() == 0; }
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;
  std::optional<int64_t> opt_int64(int row, int col) const;
  bool boolean(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

private:
  PGresult* res_;
};

// One connection. Not thread-safe: each storage worker owns its own.
class pg_connection {
public:
  // Throws pg_error when the server cannot be reached.
  explicit pg_connection(const std::string& url);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  pg_rows exec(const std::string& sql, const pg_params& args = {});
  // Runs a statement without parameters (BEGIN, COMMIT, several statements).
  void run(const std::string& sql);
  bool healthy() const;
  // The outbox rows written in the current transaction, so the pool can hand
  // them to the dispatcher once they commit (the fast path).
  std::vector<outbox_row> appended;
  // After the server restarted or the socket broke: try once to reconnect.
  void reconnect_if_broken();
  size_t prepared_statements() const { return prepared_.size(); }

private:
  // The name of `sql` prepared on this session, preparing it on first use;
  // nothing once the cache is full (then the statement runs unprepared).
  const std::string* prepared_name(const std::string& sql, int n_params);

  PGconn* conn_;
  // Each distinct statement is parsed and planned once per session, not on
  // every call. Bounded: statements built from varying text stay unprepared.
  std::unordered_map<std::string, std::string> prepared_;
};

// Runs `work` in a transaction of its own on `conn` (a connection outside the
// storage pool: start-up, the lease actor): committed when it returns, rolled
// back when it throws.
template <class Work> auto in_transaction(pg_connection& conn, Work work) {
  conn.run("BEGIN");
  try {
    auto result = work();
    conn.run("COMMIT");
    return result;
  } catch (...) {
    try {
      conn.run("ROLLBACK");
    } catch (...) {
      // The connection is gone; the caller sees the first error.
    }
    throw;
  }
}

} // namespace boxoffice::storage
