#pragma once
// Who may act for a user, and how often: the identity check of auth.mode and
// the abuse limits (limits.*). One instance serves every api actor and the
// listener's threads; everything here is thread-safe.

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/access/jwt_tokens.hpp"
#include "http/access/rate_limiter.hpp"
#include "http/api.hpp"

namespace boxoffice::http {

enum class auth_mode { none, jwt };

struct access_config {
  auth_mode mode = auth_mode::none;
  jwt_rules jwt; // used in jwt mode
  bool limits_enabled = true;
  // Per user (the token's subject in jwt mode, the named user in none mode).
  bucket_rule queue_token;
  bucket_rule hold;
  bucket_rule payment;
  bucket_rule charge;
  // Per client address, on the routes that name no user.
  bucket_rule address;
  // Clients exempt from the per-address limit: a gateway or proxy on the same
  // host speaks for many fans from one address.
  std::vector<std::string> trusted_addresses;
  size_t max_tracked_keys = 200000; // per limit
};

// What a request that names a user is about to do: each has its own limit.
enum class user_action { read, queue_token, hold, payment, charge };

class access_policy {
public:
  explicit access_policy(access_config cfg);

  // Null when the request may act for `user_id` now; else the answer to send
  // (401 or 403 with WWW-Authenticate in jwt mode, 429 with Retry-After).
  std::optional<api_response> check_user(const api_request& req, int64_t user_id,
                                         user_action action);
  // The per-address limit of a route that names no user.
  std::optional<api_response> check_address(const api_request& req);

  auth_mode mode() const { return cfg_.mode; }
  // Appends the boxoffice_auth_* and boxoffice_limit_* series.
  void render_metrics(std::string& out) const;

private:
  std::optional<api_response> authenticate(const api_request& req, int64_t user_id);
  rate_limiter* limiter_for(user_action action);

  access_config cfg_;
  std::optional<jwt_verifier> verifier_;
  std::vector<std::unique_ptr<rate_limiter>> limiters_; // the per-user ones, then the address one
  std::atomic<uint64_t> verified_{0};
  std::atomic<uint64_t> forbidden_{0};
  // Refusals by jwt_refusal (index = its value).
  std::array<std::atomic<uint64_t>, jwt_refusal_count> refused_{};
};

} // namespace boxoffice::http
