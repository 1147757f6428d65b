#pragma once
// The read-only queries of the readiness probe and the admin listener. They
// answer JSON text built by PostgreSQL itself, which the admin listener passes
// through: operators see the rows as they are stored.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace boxoffice::storage {

class pg_connection;

// True when the database answers a trivial query.
bool ready_probe(pg_connection& conn);

// At most 200 sagas, newest first, each with its steps, as a JSON array;
// `state` filters by saga state ("" : all).
std::string sagas_json(pg_connection& conn, const std::string& state);

// How many sagas are in each state.
std::map<std::string, int64_t> saga_counts(pg_connection& conn);

// The tables whose row the admin listener shows next to an actor's memory.
enum class entity_table { seat, reservation, wallet, saga, schedule };

// Nothing for a type without a table.
std::optional<entity_table> entity_table_of(const std::string& type);

// The row as a JSON object, "null" when there is none. A seat is keyed by
// (schedule id, seat number) and comes with its live reservation; the other
// tables by `id` alone.
std::string entity_row_json(pg_connection& conn, entity_table table, int64_t id,
                            int64_t seat_number = 0);

} // namespace boxoffice::storage
