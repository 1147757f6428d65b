#pragma once

#include <string>
#include <vector>

namespace boxoffice::storage {

class pg_connection;

struct migration {
  std::string name; // "001_catalogue.sql": the number orders them
  std::string sql;
};

const std::vector<migration>& embedded_migrations();

// Applies every migration not yet recorded in schema_migrations, each in its
// own transaction. An advisory lock keeps two servers starting together from
// racing. Returns how many were applied.
int apply_migrations(pg_connection& conn, const std::vector<migration>& all);

} // namespace boxoffice::storage
