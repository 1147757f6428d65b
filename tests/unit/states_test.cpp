// States keep the text the database stores and the API shows.
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>

#include "actor_fixture.hpp"
#include "messages/types.hpp"

using namespace boxoffice;

namespace {

// Every state survives to_string/from_string, and its text is the stored one.
template <class State>
void check_round_trip(std::initializer_list<std::pair<State, const char*>> states) {
  for (auto [state, text] : states) {
    CHECK(to_string(state) == text);
    CHECK(from_string<State>(text) == state);
  }
}

template <class State> void check_rejects_unknown_text() {
  CHECK_FALSE(from_string<State>(""));
  CHECK_FALSE(from_string<State>("BOGUS"));
  CHECK_FALSE(from_string<State>("held")); // the stored text is upper case
}

} // namespace

TEST_CASE("states convert to and from the text the database and API use") {
  check_round_trip<reservation_status>({{reservation_status::held, "HELD"},
                                        {reservation_status::paying, "PAYING"},
                                        {reservation_status::confirmed, "CONFIRMED"},
                                        {reservation_status::expired, "EXPIRED"},
                                        {reservation_status::cancelled, "CANCELLED"}});
  check_round_trip<seat_status>({{seat_status::available, "AVAILABLE"},
                                 {seat_status::holding, "HOLDING"},
                                 {seat_status::held, "HELD"},
                                 {seat_status::sold, "SOLD"}});
  check_round_trip<token_status>({{token_status::waiting, "WAITING"},
                                  {token_status::active, "ACTIVE"},
                                  {token_status::expired, "EXPIRED"}});
  check_round_trip<saga_state>({{saga_state::running, "RUNNING"},
                                {saga_state::compensating, "COMPENSATING"},
                                {saga_state::completed, "COMPLETED"},
                                {saga_state::compensated, "COMPENSATED"},
                                {saga_state::failed, "FAILED"}});
}

TEST_CASE("unknown state text is refused, not defaulted") {
  check_rejects_unknown_text<reservation_status>();
  check_rejects_unknown_text<seat_status>();
  check_rejects_unknown_text<token_status>();
  check_rejects_unknown_text<saga_state>();
  CHECK_FALSE(from_string<token_status>("HELD")); // another enum's text
}

TEST_CASE("a state travels in a CAF message and prints as its text") {
  testing::actor_fixture f;
  reservation_view sent{9, 42, 3, 7, 100, reservation_status::paying, 0, 5};
  std::vector<char> buf;
  caf::binary_serializer sink{f.sys, buf};
  REQUIRE_FALSE(sink(sent));
  reservation_view received;
  caf::binary_deserializer source{f.sys, buf};
  REQUIRE_FALSE(source(received));
  CHECK(received.status == reservation_status::paying);
  CHECK(caf::deep_to_string(received).find("PAYING") != std::string::npos);
}
