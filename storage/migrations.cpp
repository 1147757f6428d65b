#include "storage/migrations.hpp"

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

// Any fixed number works; it only has to be the same for every server.
constexpr const char* lock_key = "7262026";

int version_of(const migration& m) {
  return std::stoi(m.name.substr(0, m.name.find('_')));
}

} // namespace

int apply_migrations(pg_connection& conn, const std::vector<migration>& all) {
  conn.exec("SELECT pg_advisory_lock($1)", params(lock_key));
  int applied = 0;
  try {
    conn.run("CREATE TABLE IF NOT EXISTS schema_migrations ("
             " version INT PRIMARY KEY, name TEXT NOT NULL,"
             " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    for (auto& m : all) {
      auto version = version_of(m);
      auto seen = conn.exec("SELECT 1 FROM schema_migrations WHERE version = $1", params(version));
      if (!seen.empty())
        continue;
      in_transaction(conn, [&] {
        conn.run(m.sql);
        return conn
          .exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                params(version, m.name))
          .affected();
      });
      ++applied;
    }
  } catch (...) {
    conn.exec("SELECT pg_advisory_unlock($1)", params(lock_key));
    throw;
  }
  conn.exec("SELECT pg_advisory_unlock($1)", params(lock_key));
  return applied;
}

} // namespace boxoffice::storage
