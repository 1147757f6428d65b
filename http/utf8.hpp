#pragma once
// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing
// past U+10FFFF. Client bytes are checked with it before they can reach JSON
// rendering or the database, both of which reject anything else.

#include <string_view>

#include "http/api.hpp"

namespace boxoffice::http {

bool is_valid_utf8(std::string_view text);

// The first part of the request the API reads that is not UTF-8 ("path",
// "query", "body", or a header name), or nullptr when all of them are.
const char* first_non_utf8_part(const api_request& req);

} // namespace boxoffice::http
