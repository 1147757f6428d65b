#include "tools/loadgen/fan_tokens.hpp"

#include <chrono>
#include <utility>

namespace boxoffice::loadgen {

FanTokens::FanTokens(http::jwt_key key, std::string issuer, std::string audience,
                     std::int64_t ttl_seconds)
    : key_(std::move(key)), issuer_(std::move(issuer)), audience_(std::move(audience)),
      ttl_seconds_(ttl_seconds) {}

std::string FanTokens::authorization(std::int64_t user) const {
  http::jwt_claims claims;
  claims.subject = user;
  claims.issuer = issuer_;
  claims.audience = audience_;
  claims.issued_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  claims.expires_at = claims.issued_at + ttl_seconds_;
  return "Bearer " + http::mint_jwt(key_, claims);
}

} // namespace boxoffice::loadgen
