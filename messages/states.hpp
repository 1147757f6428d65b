#pragma once
// The states of reservations, seats, waiting-room tokens and sagas. to_string
// gives the exact text the database stores and the API shows, so the wire
// format is independent of the enumerator names; from_string reads it back
// and refuses text it does not know instead of guessing a default.
//
// CAF 0.17 serializes enums by their underlying type (data_processor::apply
// for std::is_enum) and prints them with to_string (stringification
// inspector), so these need no inspect overload to travel in messages; one
// would make CAF's apply ambiguous.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace boxoffice {

enum class reservation_status : uint8_t { held, paying, confirmed, expired, cancelled };

// `holding` is the seat actor's own: a hold on its way to the database. It is
// shown as HELD.
enum class seat_status : uint8_t { available, holding, held, sold };

enum class token_status : uint8_t { waiting, active, expired };

enum class saga_state : uint8_t { running, compensating, completed, compensated, failed };

// The stored text of each state, indexed by its value.
template <class State> struct state_texts;

template <> struct state_texts<reservation_status> {
  static constexpr const char* texts[] = {"HELD", "PAYING", "CONFIRMED", "EXPIRED", "CANCELLED"};
};

template <> struct state_texts<seat_status> {
  static constexpr const char* texts[] = {"AVAILABLE", "HOLDING", "HELD", "SOLD"};
};

template <> struct state_texts<token_status> {
  static constexpr const char* texts[] = {"WAITING", "ACTIVE", "EXPIRED"};
};

template <> struct state_texts<saga_state> {
  static constexpr const char* texts[] = {"RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED",
                                          "FAILED"};
};

template <class State, class = decltype(state_texts<State>::texts)> std::string to_string(State x) {
  return state_texts<State>::texts[static_cast<size_t>(x)];
}

// Nothing for text that names no state of `State`.
template <class State> std::optional<State> from_string(std::string_view text) {
  const auto& texts = state_texts<State>::texts;
  for (size_t i = 0; i < std::size(texts); ++i)
    if (text == texts[i])
      return static_cast<State>(i);
  return std::nullopt;
}

} // namespace boxoffice
