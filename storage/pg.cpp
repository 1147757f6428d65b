#include "storage/pg.hpp"

#include <libpq-fe.h>

namespace boxoffice::storage {

namespace {

constexpr size_t max_prepared_statements = 256;

[[noreturn]] void throw_result_error(PGresult* res, PGconn* conn) {
  std::string state;
  if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE))
    state = s;
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  PQclear(res);
  throw pg_error(msg, state);
}

} // namespace

pg_rows::pg_rows(PGresult* res) : res_(res) {}
pg_rows::pg_rows(pg_rows&& other) noexcept : res_(other.res_) {
  other.res_ = nullptr;
}
pg_rows::~pg_rows() {
  PQclear(res_);
}

int pg_rows::size() const {
  return PQntuples(res_);
}
bool pg_rows::is_null(int row, int col) const {
  return PQgetisnull(res_, row, col) == 1;
}
std::string pg_rows::text(int row, int col) const {
  return PQgetvalue(res_, row, col);
}
int64_t pg_rows::int64(int row, int col) const {
  return std::stoll(PQgetvalue(res_, row, col));
}
std::optional<int64_t> pg_rows::opt_int64(int row, int col) const {
  if (is_null(row, col))
    return std::nullopt;
  return int64(row, col);
}
bool pg_rows::boolean(int row, int col) const {
  return PQgetvalue(res_, row, col)[0] == 't';
}
int64_t pg_rows::affected() const {
  const char* n = PQcmdTuples(res_);
  return n && *n ? std::stoll(n) : 0;
}

pg_connection::pg_connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw pg_error("cannot connect to database: " + msg, "08001");
  }
  // NOTICEs ("relation already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(
    conn_, [](void*, const char*) {}, nullptr);
}

pg_connection::~pg_connection() {
  if (conn_)
    PQfinish(conn_);
}

const std::string* pg_connection::prepared_name(const std::string& sql, int n_params) {
  if (auto i = prepared_.find(sql); i != prepared_.end())
    return &i->second;
  if (prepared_.size() >= max_prepared_statements)
    return nullptr;
  auto name = "bo" + std::to_string(prepared_.size() + 1);
  PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), n_params, nullptr);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    throw_result_error(res, conn_); // e.g. inside a failed transaction, as the statement would
  PQclear(res);
  return &prepared_.emplace(sql, std::move(name)).first->second;
}

pg_rows pg_connection::exec(const std::string& sql, const pg_params& args) {
  std::vector<const char*> values;
  values.reserve(args.size());
  for (auto& a : args)
    values.push_back(a ? a->c_str() : nullptr);
  auto n = static_cast<int>(values.size());
  auto name = prepared_name(sql, n);
  PGresult* res =
    name ? PQexecPrepared(conn_, name->c_str(), n, values.data(), nullptr, nullptr, 0)
         : PQexecParams(conn_, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
  auto status = PQresultStatus(res);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw_result_error(res, conn_);
  return pg_rows{res};
}

void pg_connection::run(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  auto status = PQresultStatus(res);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw_result_error(res, conn_);
  PQclear(res);
}

void pg_connection::reconnect_if_broken() {
  if (PQstatus(conn_) != CONNECTION_OK) {
    PQreset(conn_);
    prepared_.clear(); // a new session has none of them
  }
}

bool pg_connection::healthy() const {
  return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

} // namespace boxoffice::storage
