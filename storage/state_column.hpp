#pragma once
// States are stored as their text (messages/states.hpp). Text this build does
// not know (a newer schema, a hand-edited row) is an error, never a default.

#include <stdexcept>

#include "messages/states.hpp"
#include "storage/pg.hpp"

namespace boxoffice::storage {

template <class State> State parse_state(const std::string& text) {
  if (auto state = from_string<State>(text))
    return *state;
  throw std::runtime_error("unknown state '" + text + "' in the database");
}

template <class State> State state_column(const pg_rows& rows, int row, int col) {
  return parse_state<State>(rows.text(row, col));
}

} // namespace boxoffice::storage
