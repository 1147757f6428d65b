#include "http/platform/event_signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "util/hex.hpp"

namespace boxoffice::http {

std::string hmac_sha256_hex(const std::string& key, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest,
           &length) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return to_hex(digest, length);
}

std::string signature_header_value(const std::string& key, const std::string& body) {
  return "sha256=" + hmac_sha256_hex(key, body);
}

} // namespace boxoffice::http
