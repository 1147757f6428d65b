#pragma once

namespace boxoffice::storage {

class pg_connection;

// Loads a few concerts with schedules and seats when the catalogue is empty.
// Returns false when there was data already.
bool seed_demo_catalogue(pg_connection& conn, int seats_per_schedule);

} // namespace boxoffice::storage
