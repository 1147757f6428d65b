#pragma once
// Body signatures for event delivery: `X-Signature: sha256=<lowercase hex HMAC-SHA256 of the raw
// body>`, keyed with the destination's shared secret. The data-platform simulator checks the same.

#include <string>

namespace boxoffice::http {

// Lowercase hex HMAC-SHA256 of `body` under `key` (64 characters).
std::string hmac_sha256_hex(const std::string& key, const std::string& body);

// The complete `X-Signature` header value: "sha256=" + hmac_sha256_hex(key, body).
std::string signature_header_value(const std::string& key, const std::string& body);

} // namespace boxoffice::http
