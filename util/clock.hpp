#pragma once
// The one notion of "now" as epoch milliseconds: what the database stores and
// compares (expiries, next attempts, event times).

#include <chrono>
#include <cstdint>

namespace boxoffice {

// Milliseconds since the Unix epoch, by the system clock.
int64_t now_ms();

// Epoch milliseconds at `steady_now`, a reading of a steady clock: actors pass
// `self->clock().now()`, so a test that advances CAF's test clock advances
// their "now" too. CAF 0.17.6 has no epoch time on the actor clock: it is a
// steady_clock (the real one in production, a test clock that moves only when
// told under the test coordinator), and caf::make_timestamp() reads the system
// clock directly, ignoring the test clock. So `steady_now` is shifted by the
// distance between the system and the steady clock, which is cached and only
// taken again once it moved by more than a millisecond (the system clock was
// set or slewed): within a millisecond of now_ms() in production, and exactly
// the test clock plus a constant under test (no jitter between two readings).
int64_t epoch_ms_at(std::chrono::steady_clock::time_point steady_now);

} // namespace boxoffice
