#pragma once
// HMAC-SHA256 body signatures as the outbox dispatcher sends them:
// `X-Signature: sha256=<lowercase hex HMAC-SHA256 of the raw body>`.

#include <string>
#include <string_view>

namespace dpsim {

std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

// True when `header` is exactly "sha256=" followed by the HMAC of `body` (hex compared
// case-insensitively and in constant time).
bool signature_matches(std::string_view secret, std::string_view body, std::string_view header);

} // namespace dpsim
