// The only file that includes cpp-jwt: its headers define functions that are
// not inline, so a second including file in one program would not link.
#include "http/access/jwt_tokens.hpp"

#include <cctype>
#include <chrono>
#include <jwt/jwt.hpp>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdexcept>

#include "util/text.hpp"

namespace boxoffice::http {

namespace {

std::string read_key(const std::string& path, const char* what) {
  auto text = read_file(path);
  if (!text)
    throw std::invalid_argument(std::string{"cannot read the "} + what + " " + path);
  return *text;
}

// The algorithm a PEM key is for, from its type; throws when it has none.
jwt_algorithm algorithm_of_pem(const std::string& pem, bool private_key, const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free};
  EVP_PKEY* raw = private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                              : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{raw, &EVP_PKEY_free};
  if (!key)
    throw std::invalid_argument(path + " holds no PEM " +
                                (private_key ? "private key" : "public key"));
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key.get()) < 2048)
        throw std::invalid_argument(path + ": an RSA key needs at least 2048 bits");
      return jwt_algorithm::rs256;
    case EVP_PKEY_EC:
      if (EVP_PKEY_get_bits(key.get()) != 256)
        throw std::invalid_argument(path + ": an EC key must be on P-256 (ES256)");
      return jwt_algorithm::es256;
    default:
      throw std::invalid_argument(path + ": only RSA (RS256) and P-256 (ES256) keys are supported");
  }
}

jwt_refusal refusal_of(const std::error_code& ec) {
  const auto& cat = ec.category();
  if (&cat == &jwt::theVerificationErrorCategory) {
    switch (static_cast<jwt::VerificationErrc>(ec.value())) {
      case jwt::VerificationErrc::InvalidAlgorithm:
        return jwt_refusal::algorithm;
      case jwt::VerificationErrc::TokenExpired:
        return jwt_refusal::expired;
      case jwt::VerificationErrc::ImmatureSignature:
        return jwt_refusal::not_yet_valid;
      case jwt::VerificationErrc::InvalidSignature:
        return jwt_refusal::signature;
      default:
        return jwt_refusal::malformed;
    }
  }
  if (&cat == &jwt::theAlgorithmErrCategory &&
      static_cast<jwt::AlgorithmErrc>(ec.value()) == jwt::AlgorithmErrc::NoneAlgorithmUsed)
    return jwt_refusal::algorithm;
  if (&cat == &jwt::theAlgorithmErrCategory)
    return jwt_refusal::signature; // a signature OpenSSL cannot even parse
  return jwt_refusal::malformed;
}

// A claim that must be a string equal to `want` (when `want` is set).
bool string_claim_is(const nlohmann::json& payload, const char* name, const std::string& want) {
  if (want.empty())
    return true;
  auto i = payload.find(name);
  return i != payload.end() && i->is_string() && i->get_ref<const std::string&>() == want;
}

// sub: a positive decimal user id of at most 18 digits, as in a path.
int64_t subject_of(const nlohmann::json& payload) {
  auto i = payload.find("sub");
  if (i == payload.end() || !i->is_string())
    return 0;
  auto& s = i->get_ref<const std::string&>();
  int64_t v = 0;
  // One spelling per user: no leading zeros.
  return !s.empty() && s.front() != '0' && parse_id(s, v) ? v : 0;
}

jwt_verdict check_claims(const nlohmann::json& payload, const jwt_rules& rules) {
  // cpp-jwt checks exp only when present, and reads a negative one as a huge
  // unsigned number: checked again here, and a token that never expires is refused.
  auto exp = payload.find("exp");
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  if (exp == payload.end() || !exp->is_number_integer() ||
      exp->get<int64_t>() + rules.leeway_seconds < now)
    return {jwt_refusal::expired};
  if (!string_claim_is(payload, "iss", rules.issuer))
    return {jwt_refusal::issuer};
  if (!string_claim_is(payload, "aud", rules.audience))
    return {jwt_refusal::audience};
  auto sub = subject_of(payload);
  if (sub == 0)
    return {jwt_refusal::subject};
  return {jwt_refusal::none, sub};
}

} // namespace

const char* to_string(jwt_algorithm a) {
  switch (a) {
    case jwt_algorithm::hs256:
      return "HS256";
    case jwt_algorithm::rs256:
      return "RS256";
    case jwt_algorithm::es256:
      return "ES256";
  }
  return "?";
}

const char* to_string(jwt_refusal r) {
  switch (r) {
    case jwt_refusal::none:
      return "none";
    case jwt_refusal::missing:
      return "missing";
    case jwt_refusal::too_large:
      return "too_large";
    case jwt_refusal::malformed:
      return "malformed";
    case jwt_refusal::algorithm:
      return "algorithm";
    case jwt_refusal::signature:
      return "signature";
    case jwt_refusal::expired:
      return "expired";
    case jwt_refusal::not_yet_valid:
      return "not_yet_valid";
    case jwt_refusal::issuer:
      return "issuer";
    case jwt_refusal::audience:
      return "audience";
    case jwt_refusal::subject:
      return "subject";
  }
  return "?";
}

jwt_key read_hs256_secret(const std::string& path) {
  auto secret = trim(read_key(path, "HS256 secret file"));
  if (secret.size() < 32)
    throw std::invalid_argument(path + ": an HS256 secret needs at least 32 bytes");
  return {jwt_algorithm::hs256, secret};
}

jwt_key read_pem_key(const std::string& path, bool private_key) {
  auto pem = read_key(path, private_key ? "private key file" : "public key file");
  return {algorithm_of_pem(pem, private_key, path), pem};
}

jwt_verifier::jwt_verifier(jwt_rules rules) : rules_(std::move(rules)) {}

jwt_verdict jwt_verifier::verify(std::string_view token) const {
  if (token.empty())
    return {jwt_refusal::missing};
  if (token.size() > rules_.max_token_bytes)
    return {jwt_refusal::too_large};
  using namespace jwt::params;
  try {
    std::error_code ec;
    // One algorithm, the key's: the token's header cannot choose another.
    auto obj =
      jwt::decode(jwt::string_view{token.data(), token.size()},
                  algorithms({to_string(rules_.key.algorithm)}), ec, secret(rules_.key.material),
                  jwt::params::verify(true), leeway(static_cast<uint32_t>(rules_.leeway_seconds)));
    if (ec)
      return {refusal_of(ec)};
    return check_claims(obj.payload().create_json_obj(), rules_);
  } catch (const std::exception&) {
    return {jwt_refusal::malformed}; // e.g. a header field of the wrong JSON type
  }
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size())
    return {};
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return {};
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  return token;
}

std::string mint_jwt(const jwt_key& signing_key, const jwt_claims& claims) {
  using namespace jwt::params;
  try {
    jwt::jwt_object obj{algorithm(to_string(signing_key.algorithm)), secret(signing_key.material)};
    obj.add_claim("sub", std::to_string(claims.subject));
    if (!claims.issuer.empty())
      obj.add_claim("iss", claims.issuer);
    if (!claims.audience.empty())
      obj.add_claim("aud", claims.audience);
    obj.add_claim("iat", claims.issued_at);
    obj.add_claim("exp", claims.expires_at);
    return obj.signature();
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string{"cannot sign a token: "} + e.what());
  }
}

} // namespace boxoffice::http
