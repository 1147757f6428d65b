#include "storage/demo_seed.hpp"

#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

struct demo_concert {
  const char* title;
  const char* artist;
  const char* venue;
};

constexpr demo_concert concerts[] = {
  {"Midnight Echoes Tour", "The Lanterns", "Olympic Hall"},
  {"Symphony Under the Stars", "Seoul Philharmonic", "Arts Center Concert Hall"},
  {"Neon Nights Live", "Pulse Theory", "Blue Square Arena"},
};

} // namespace

bool seed_demo_catalogue(pg_connection& conn, int seats_per_schedule) {
  return in_transaction(conn, [&] {
    // Serialises two servers seeding an empty database at once.
    conn.run("LOCK TABLE concerts IN EXCLUSIVE MODE");
    if (!conn.exec("SELECT 1 FROM concerts LIMIT 1").empty())
      return false; // nothing written
    int day = 7;
    for (auto& c : concerts) {
      auto id = conn
                  .exec("INSERT INTO concerts (title, artist, venue) VALUES ($1, $2, $3) "
                        "RETURNING id",
                        params(c.title, c.artist, c.venue))
                  .int64(0, 0);
      for (int s = 0; s < 3; ++s, day += 2) {
        auto sid = conn
                     .exec("INSERT INTO schedules (concert_id, starts_at) VALUES ($1, "
                           "date_trunc('day', now()) + make_interval(days => $2) + "
                           "interval '19 hours') RETURNING id",
                           params(id, day))
                     .int64(0, 0);
        // Front rows cost more: 150,000 points for the first 10, 100,000 after.
        conn.exec("INSERT INTO seats (schedule_id, seat_number, price) "
                  "SELECT $1, n, CASE WHEN n <= 10 THEN 150000 ELSE 100000 END "
                  "FROM generate_series(1, $2) AS n",
                  params(sid, seats_per_schedule));
      }
    }
    return true;
  });
}

} // namespace boxoffice::storage
