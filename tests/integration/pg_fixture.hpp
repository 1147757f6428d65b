#pragma once
// A fresh database per test on the private cluster scripts/test started.

#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

#include "storage/pg.hpp"

namespace boxoffice::testing {

inline std::string server_conninfo() {
  const char* pg = std::getenv("BOXOFFICE_TEST_PG");
  if (!pg)
    throw std::runtime_error("BOXOFFICE_TEST_PG is not set: run the tests through scripts/test");
  return pg;
}

struct fresh_database {
  std::string name;
  std::string url;

  fresh_database() {
    std::random_device rd;
    name = "it_" + std::to_string(rd()) + std::to_string(rd() % 1000);
    storage::pg_connection admin{server_conninfo() + " dbname=postgres"};
    admin.run("CREATE DATABASE " + name);
    url = server_conninfo() + " dbname=" + name;
  }
};

} // namespace boxoffice::testing
