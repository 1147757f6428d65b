#pragma once
// JSON Web Tokens: verifying a fan's bearer token, and minting test tokens
// (tools/jwtmint, the load driver). Built on cpp-jwt (Debian libcpp-jwt-dev),
// which this header does not include: only jwt_tokens.cpp does.
//
// The rules every verified token meets: its algorithm is the one the key is
// for (a key never serves two algorithms, so an RSA public key cannot be
// replayed as an HMAC secret, and `none` is never accepted); it carries `exp`
// and, when configured, the exact `iss` and `aud`; `sub` is a positive decimal
// user id.

#include <cstdint>
#include <string>
#include <string_view>

namespace boxoffice::http {

enum class jwt_algorithm { hs256, rs256, es256 };

const char* to_string(jwt_algorithm a);

// A verification key (an HMAC secret, or a PEM public key) or, for minting, a
// signing key (the secret, or a PEM private key).
struct jwt_key {
  jwt_algorithm algorithm = jwt_algorithm::hs256;
  std::string material;
};

// The secret in a file (surrounding whitespace ignored; at least 32 bytes,
// as RFC 7518 asks of an HS256 key). Throws std::invalid_argument.
jwt_key read_hs256_secret(const std::string& path);
// A PEM public (or, for minting, private) key; RSA keys are RS256, P-256 keys
// ES256. Throws std::invalid_argument naming what is wrong.
jwt_key read_pem_key(const std::string& path, bool private_key);

struct jwt_rules {
  jwt_key key;
  std::string issuer;   // empty: not checked
  std::string audience; // empty: not checked
  int leeway_seconds = 30;
  size_t max_token_bytes = 4096;
};

enum class jwt_refusal {
  none,
  missing,       // no Authorization: Bearer header
  too_large,     // longer than max_token_bytes: refused before decoding
  malformed,     // not three base64url parts of JSON
  algorithm,     // a different algorithm than the key's, or none
  signature,     // the signature does not verify
  expired,       // exp passed (beyond the leeway), or no exp at all
  not_yet_valid, // nbf in the future (beyond the leeway)
  issuer,        // iss missing or not the configured one
  audience,      // aud missing or not the configured one
  subject,       // sub missing or not a positive decimal user id
};

constexpr size_t jwt_refusal_count = static_cast<size_t>(jwt_refusal::subject) + 1;

// The reason, for logs, metrics labels and the 401's error_description.
const char* to_string(jwt_refusal r);

struct jwt_verdict {
  jwt_refusal refusal = jwt_refusal::none;
  int64_t subject = 0; // the user id, when refusal is none
  bool ok() const { return refusal == jwt_refusal::none; }
};

class jwt_verifier {
public:
  explicit jwt_verifier(jwt_rules rules);
  // The token itself, without "Bearer ". Never throws.
  jwt_verdict verify(std::string_view token) const;
  const jwt_rules& rules() const { return rules_; }

private:
  jwt_rules rules_;
};

// The token of an Authorization header value ("Bearer <token>", scheme
// case-insensitive); empty when it has another form.
std::string_view bearer_token(std::string_view authorization);

struct jwt_claims {
  int64_t subject = 0;
  std::string issuer;   // empty: left out
  std::string audience; // empty: left out
  int64_t issued_at = 0;
  int64_t expires_at = 0; // unix seconds
};

// A signed compact token. Throws std::invalid_argument on a bad key.
std::string mint_jwt(const jwt_key& signing_key, const jwt_claims& claims);

} // namespace boxoffice::http
