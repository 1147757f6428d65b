#pragma once
// Actors report their status as caf::settings; operators read it as JSON.
// This is the one place that turns the one into the other.

#include <caf/settings.hpp>
#include <nlohmann/json_fwd.hpp>

namespace boxoffice::http {

// Integers, reals, booleans and strings map to their JSON kinds, lists to
// arrays, dictionaries to objects; CAF-only kinds (atom, timespan, uri) to
// CAF's text for them.
nlohmann::json status_json(const caf::settings& status);

// A numeric status field as a double (metrics and trends); 0 for a value that
// is not a number.
double status_number(const caf::config_value& value);

} // namespace boxoffice::http
