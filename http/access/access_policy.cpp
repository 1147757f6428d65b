#include "http/access/access_policy.hpp"

#include <algorithm>
#include <chrono>

#include "http/admin/metrics.hpp"
#include "http/error_model.hpp"

namespace boxoffice::http {

namespace {

constexpr jwt_refusal all_refusals[] = {jwt_refusal::missing,       jwt_refusal::too_large,
                                        jwt_refusal::malformed,     jwt_refusal::algorithm,
                                        jwt_refusal::signature,     jwt_refusal::expired,
                                        jwt_refusal::not_yet_valid, jwt_refusal::issuer,
                                        jwt_refusal::audience,      jwt_refusal::subject};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// RFC 6750: a missing token gets the bare challenge, a bad one says why.
api_response unauthenticated(jwt_refusal why) {
  std::string challenge = "Bearer realm=\"boxoffice\"";
  std::string message = "a valid Authorization: Bearer token is required";
  if (why != jwt_refusal::missing) {
    challenge +=
      std::string{", error=\"invalid_token\", error_description=\""} + to_string(why) + "\"";
    message = std::string{"the bearer token is refused ("} + to_string(why) + ")";
  }
  auto r = error_response(401, "UNAUTHENTICATED", message);
  r.headers.emplace_back("WWW-Authenticate", challenge);
  return r;
}

api_response rate_limited(const rate_limiter& limit, int retry_after) {
  auto r = error_response(429, "RATE_LIMITED",
                          "too many requests (limit '" + limit.name() + "'); retry after " +
                            std::to_string(retry_after) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

} // namespace

access_policy::access_policy(access_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.mode == auth_mode::jwt)
    verifier_.emplace(cfg_.jwt);
  for (auto [name, rule] : {std::pair{"queue_token", cfg_.queue_token},
                            {"hold", cfg_.hold},
                            {"payment", cfg_.payment},
                            {"charge", cfg_.charge},
                            {"address", cfg_.address}}) {
    if (!cfg_.limits_enabled)
      rule.per_second = 0;
    limiters_.push_back(std::make_unique<rate_limiter>(name, rule, cfg_.max_tracked_keys));
  }
}

rate_limiter* access_policy::limiter_for(user_action action) {
  switch (action) {
    case user_action::read:
      return nullptr;
    case user_action::queue_token:
      return limiters_[0].get();
    case user_action::hold:
      return limiters_[1].get();
    case user_action::payment:
      return limiters_[2].get();
    case user_action::charge:
      return limiters_[3].get();
  }
  return nullptr;
}

std::optional<api_response> access_policy::authenticate(const api_request& req, int64_t user_id) {
  if (cfg_.mode == auth_mode::none)
    return std::nullopt;
  auto verdict = verifier_->verify(bearer_token(req.authorization));
  if (!verdict.ok()) {
    refused_[static_cast<size_t>(verdict.refusal)].fetch_add(1, std::memory_order_relaxed);
    return unauthenticated(verdict.refusal);
  }
  if (verdict.subject != user_id) {
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    auto r = error_response(403, "FORBIDDEN", "the bearer token is for another user");
    r.headers.emplace_back("WWW-Authenticate",
                           "Bearer realm=\"boxoffice\", error=\"insufficient_scope\"");
    return r;
  }
  verified_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::optional<api_response> access_policy::check_user(const api_request& req, int64_t user_id,
                                                      user_action action) {
  if (auto refused = authenticate(req, user_id))
    return refused;
  auto limit = limiter_for(action);
  if (!limit)
    return std::nullopt;
  auto d = limit->take(std::to_string(user_id), steady_ms());
  if (d.allowed)
    return std::nullopt;
  return rate_limited(*limit, d.retry_after_seconds);
}

std::optional<api_response> access_policy::check_address(const api_request& req) {
  auto& limit = *limiters_.back();
  if (!limit.rule().enabled())
    return std::nullopt;
  auto& trusted = cfg_.trusted_addresses;
  if (std::find(trusted.begin(), trusted.end(), req.client_address) != trusted.end())
    return std::nullopt;
  auto d = limit.take(req.client_address, steady_ms());
  if (d.allowed)
    return std::nullopt;
  return rate_limited(limit, d.retry_after_seconds);
}

void access_policy::render_metrics(std::string& out) const {
  prometheus_header(out, "boxoffice_auth_verified_total", "counter",
                    "Bearer tokens verified for the user they act for (auth.mode = jwt).");
  prometheus_line(out, "boxoffice_auth_verified_total", "", double(verified_.load()));
  prometheus_header(out, "boxoffice_auth_refused_total", "counter",
                    "Requests answered 401 (by reason) or 403 (reason=\"other_user\").");
  for (auto why : all_refusals)
    prometheus_line(out, "boxoffice_auth_refused_total",
                    std::string{"reason=\""} + to_string(why) + "\"",
                    double(refused_[static_cast<size_t>(why)].load()));
  prometheus_line(out, "boxoffice_auth_refused_total", "reason=\"other_user\"",
                  double(forbidden_.load()));
  struct series {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const rate_limiter&);
  };
  const series all[] = {
    {"boxoffice_limit_allowed_total", "counter", "Requests a limit let through.",
     [](const rate_limiter& l) { return double(l.allowed()); }},
    {"boxoffice_limit_refused_total", "counter", "Requests a limit answered 429.",
     [](const rate_limiter& l) { return double(l.refused()); }},
    {"boxoffice_limit_keys", "gauge", "Users or addresses a limit tracks now.",
     [](const rate_limiter& l) { return double(l.keys()); }},
    {"boxoffice_limit_per_second", "gauge", "A limit's refill rate (limits.*; 0: off).",
     [](const rate_limiter& l) { return l.rule().per_second; }},
    {"boxoffice_limit_burst", "gauge", "A limit's bucket size (limits.*).",
     [](const rate_limiter& l) { return l.rule().burst; }},
  };
  for (auto& s : all) {
    prometheus_header(out, s.name, s.type, s.help);
    for (auto& l : limiters_)
      prometheus_line(out, s.name, "limit=\"" + l->name() + "\"", s.value(*l));
  }
}

} // namespace boxoffice::http
