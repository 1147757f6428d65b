// Seat partitioning for the distinct-seat scenarios (holds, payments): every
// client gets its own seats, so no two clients ever ask for the same seat.
#pragma once

#include <cstdint>
#include <vector>

namespace boxoffice::loadgen {

/// The seats of client `index` (0-based) out of `clients`, when seats 1..`seats`
/// are dealt out round-robin and each client takes at most `per_client` of them:
/// client i gets i+1, i+1+clients, i+1+2*clients, ... (at most per_client seats,
/// none above `seats`). Over all clients this covers 1..min(seats, clients *
/// per_client) exactly once; clients past the end of the venue get nothing.
inline std::vector<int> partition_seats(std::int64_t seats, std::int64_t clients,
                                        std::int64_t index, int per_client) {
  std::vector<int> out;
  if (seats <= 0 || clients <= 0 || index < 0 || index >= clients || per_client <= 0)
    return out;
  for (std::int64_t k = 0; k < per_client; ++k) {
    const std::int64_t seat = index + 1 + k * clients;
    if (seat > seats)
      break;
    out.push_back(static_cast<int>(seat));
  }
  return out;
}

/// Seats that partition_seats hands out in all: min(seats, clients * per_client).
inline std::int64_t partitioned_seats(std::int64_t seats, std::int64_t clients, int per_client) {
  if (seats <= 0 || clients <= 0 || per_client <= 0)
    return 0;
  const std::int64_t want = clients * per_client;
  return want < seats ? want : seats;
}

} // namespace boxoffice::loadgen
