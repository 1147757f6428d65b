// The bearer-token checks of auth.mode = jwt, including the attacks JWT
// libraries are known for. Forged tokens are built by hand here, the way an
// attacker would, not with the library under test.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "http/access/jwt_tokens.hpp"

using namespace boxoffice::http;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-test";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hs256(const std::string& key, const std::string& input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return base64url(std::string(reinterpret_cast<char*>(mac), len));
}

// header.payload.signature, signed with HMAC-SHA256 under `key` whatever
// the header says (an empty key: no signature at all).
std::string forge(const nlohmann::json& header, const nlohmann::json& payload,
                  const std::string& key) {
  auto input = base64url(header.dump()) + "." + base64url(payload.dump());
  return input + "." + (key.empty() ? "" : hs256(key, input));
}

nlohmann::json claims(int64_t sub = 42) {
  return {{"sub", std::to_string(sub)}, {"exp", now_s() + 600}, {"iss", "tix"}, {"aud", "fans"}};
}

jwt_rules hs256_rules() {
  jwt_rules r;
  r.key = {jwt_algorithm::hs256, secret};
  r.issuer = "tix";
  r.audience = "fans";
  r.leeway_seconds = 5;
  return r;
}

// A fresh RSA public key in PEM.
std::string rsa_public_pem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_RSA_gen(2048), &EVP_PKEY_free};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

jwt_refusal refusal(const jwt_verifier& v, const std::string& token) {
  return v.verify(token).refusal;
}

} // namespace

TEST_CASE("a well-formed HS256 token names its user", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  auto good = v.verify(forge({{"alg", "HS256"}, {"typ", "JWT"}}, claims(42), secret));
  REQUIRE(good.ok());
  CHECK(good.subject == 42);
  // The library's own minting agrees with the verifier.
  auto minted = mint_jwt({jwt_algorithm::hs256, secret}, {7, "tix", "fans", now_s(), now_s() + 60});
  auto verdict = v.verify(minted);
  REQUIRE(verdict.ok());
  CHECK(verdict.subject == 7);
}

TEST_CASE("alg none is refused, with or without a signature part", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  for (auto alg : {"none", "None", "NONE"}) {
    CHECK(refusal(v, forge({{"alg", alg}}, claims(), "")) == jwt_refusal::algorithm);
    CHECK(refusal(v, forge({{"alg", alg}}, claims(), secret)) == jwt_refusal::algorithm);
  }
}

TEST_CASE("an RS256 public key used as an HS256 secret is refused", "[jwt]") {
  auto pem = rsa_public_pem();
  jwt_rules rules;
  rules.key = {jwt_algorithm::rs256, pem};
  jwt_verifier v{rules};
  auto token = forge({{"alg", "HS256"}, {"typ", "JWT"}}, claims(), pem);
  CHECK(refusal(v, token) == jwt_refusal::algorithm);
  // And a token claiming RS256 with an HMAC made from the key is no signature.
  CHECK(refusal(v, forge({{"alg", "RS256"}}, claims(), pem)) == jwt_refusal::signature);
}

TEST_CASE("tokens for another issuer or audience are refused", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  auto c = claims();
  c["iss"] = "someone-else";
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::issuer);
  c = claims();
  c.erase("iss");
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::issuer);
  c = claims();
  c["aud"] = "admins";
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::audience);
  c["aud"] = nlohmann::json::array({"fans"}); // a list is not what was configured
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::audience);
}

TEST_CASE("expired, never-expiring and not-yet-valid tokens are refused", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  auto c = claims();
  c["exp"] = now_s() - 60; // past the 5 s leeway
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::expired);
  c["exp"] = now_s() - 2; // within the leeway
  CHECK(v.verify(forge({{"alg", "HS256"}}, c, secret)).ok());
  c["exp"] = -1; // read as a huge unsigned number by the library
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::expired);
  c.erase("exp");
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::expired);
  c = claims();
  c["nbf"] = now_s() + 600;
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::not_yet_valid);
}

TEST_CASE("cut, altered and wrongly keyed signatures are refused", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  auto token = forge({{"alg", "HS256"}}, claims(), secret);
  auto cut = token.substr(0, token.rfind('.') + 1);
  CHECK(refusal(v, cut) == jwt_refusal::malformed); // three parts, the last empty
  CHECK(refusal(v, token.substr(0, token.rfind('.'))) == jwt_refusal::malformed);
  CHECK(refusal(v, token.substr(0, token.size() - 4)) == jwt_refusal::signature);
  CHECK(refusal(v, forge({{"alg", "HS256"}}, claims(), secret + "x")) == jwt_refusal::signature);
  // Another user's id swapped into a validly signed token.
  auto other = base64url(claims(43).dump());
  auto first = token.find('.'), second = token.rfind('.');
  auto swapped = token.substr(0, first + 1) + other + token.substr(second);
  CHECK(refusal(v, swapped) == jwt_refusal::signature);
}

TEST_CASE("huge and malformed tokens are refused without throwing", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  CHECK(refusal(v, std::string(5000, 'a')) == jwt_refusal::too_large);
  auto c = claims();
  c["pad"] = std::string(5000, 'x');
  CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::too_large);
  CHECK(refusal(v, "") == jwt_refusal::missing);
  CHECK(refusal(v, "a.b.c") == jwt_refusal::malformed);
  CHECK(refusal(v, "...") == jwt_refusal::malformed);
  CHECK(refusal(v, forge({{"alg", 5}}, claims(), secret)) != jwt_refusal::none);
  CHECK(refusal(v, forge({{"alg", "HS256"}, {"typ", 7}}, claims(), secret)) ==
        jwt_refusal::malformed);
  CHECK(refusal(v, forge({{"alg", "HS256"}}, nlohmann::json::array(), secret)) !=
        jwt_refusal::none);
}

TEST_CASE("the subject must be a positive decimal user id", "[jwt]") {
  jwt_verifier v{hs256_rules()};
  for (auto bad :
       {nlohmann::json("0"), nlohmann::json("-4"), nlohmann::json("042"), nlohmann::json("4x"),
        nlohmann::json("1234567890123456789"), nlohmann::json(42), nlohmann::json(nullptr)}) {
    auto c = claims();
    c["sub"] = bad;
    CHECK(refusal(v, forge({{"alg", "HS256"}}, c, secret)) == jwt_refusal::subject);
  }
}

TEST_CASE("the Bearer scheme is parsed strictly", "[jwt]") {
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("bearer  abc") == "abc");
  CHECK(bearer_token("Basic abc").empty());
  CHECK(bearer_token("Bearer").empty());
  CHECK(bearer_token("").empty());
}
