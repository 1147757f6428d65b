// Bearer tokens for the fans (--jwt-secret-file): an HS256 JWT a fan whose
// sub is its user id, for a server with auth.mode = jwt.
#pragma once

#include <cstdint>
#include <string>

#include "http/access/jwt_tokens.hpp"

namespace boxoffice::loadgen {

class FanTokens {
public:
  /// Tokens live ttl_seconds from the moment they are minted.
  FanTokens(http::jwt_key key, std::string issuer, std::string audience, std::int64_t ttl_seconds);

  /// "Bearer <token>" with sub = user. Mints a fresh token on every call (a
  /// fan mints its own once and keeps it); safe from any thread. Throws
  /// std::invalid_argument on a bad key.
  std::string authorization(std::int64_t user) const;

private:
  http::jwt_key key_;
  std::string issuer_;
  std::string audience_;
  std::int64_t ttl_seconds_;
};

} // namespace boxoffice::loadgen
