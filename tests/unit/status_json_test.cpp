// Operators read the actors' status data as JSON: each kind of value keeps
// its JSON kind, nested lists and dictionaries included.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "http/admin/status_json.hpp"

TEST_CASE("status data renders as JSON of the same shape") {
  caf::settings seat;
  seat["type"] = "seat";
  seat["mailbox"] = size_t{3};
  caf::settings s;
  s["actors"] = std::map<std::string, int64_t>{{"seat", 2}};
  s["rate"] = 0.5;
  s["open"] = true;
  s["history"] = std::vector<std::string>{"BEGIN", "RESERVE"};
  s["deepestMailboxes"] = caf::config_value::list{caf::config_value{seat}};
  auto expected = nlohmann::json::parse(R"({"actors":{"seat":2},"rate":0.5,"open":true,
    "history":["BEGIN","RESERVE"],"deepestMailboxes":[{"type":"seat","mailbox":3}]})");
  CHECK(boxoffice::http::status_json(s) == expected);
}

TEST_CASE("an empty status renders as an empty object") {
  CHECK(boxoffice::http::status_json(caf::settings{}) == nlohmann::json::object());
}
