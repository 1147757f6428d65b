#pragma once
// Time as the API, the events and the stored answers write it. Shared by
// storage and http, so neither imports it from the other.

#include <cstdint>
#include <string>

namespace boxoffice {

// ISO-8601 UTC with milliseconds of an epoch-milliseconds time, e.g.
// "2026-11-30T16:02:07.123Z".
std::string iso_millis(int64_t epoch_ms);

} // namespace boxoffice
