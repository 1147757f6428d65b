// jwtmint: mints test tokens for auth.mode = jwt, one a line, signed with the
// key the server verifies (an HS256 secret, or the private half of an RS256 or
// ES256 key pair).
#include <chrono>
#include <cstdint>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>

#include <boost/program_options.hpp>

#include "http/access/jwt_tokens.hpp"

namespace po = boost::program_options;
using boxoffice::http::jwt_claims;
using boxoffice::http::jwt_key;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int run(int argc, char** argv) {
  std::string secret_file, private_key_file, issuer, audience;
  std::int64_t sub = 0, count = 1, ttl = 3600;
  bool expired = false;
  po::options_description desc(
    "jwtmint: mints test tokens for boxoffice's auth.mode = jwt, one a line\n"
    "usage: jwtmint (--secret-file F | --private-key-file F) --sub USER [--count N] [--iss S]\n"
    "               [--aud S] [--ttl SECONDS] [--expired]\n\noptions");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help")
    ("secret-file", po::value(&secret_file), "HS256: the shared secret (at least 32 bytes)")
    ("private-key-file", po::value(&private_key_file),
       "RS256 or ES256: a PEM private key (RSA >= 2048 bits, or P-256)")
    ("sub", po::value(&sub), "user id of the (first) token")
    ("count", po::value(&count)->default_value(count),
       "tokens for users sub, sub+1, ..., sub+N-1")
    ("iss", po::value(&issuer), "iss claim (left out when not given)")
    ("aud", po::value(&audience), "aud claim (left out when not given)")
    ("ttl", po::value(&ttl)->default_value(ttl), "seconds from now to exp")
    ("expired", po::bool_switch(&expired), "exp one hour in the past (for tests)");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string{e.what()} + " (see --help)");
  }
  if (vm.count("help")) {
    std::cout << desc << "\nexit codes: 0 ok, 2 bad arguments or key\n";
    return kExitOk;
  }
  if (vm.count("secret-file") == vm.count("private-key-file"))
    throw UsageError("give exactly one of --secret-file and --private-key-file (see --help)");
  if (!vm.count("sub"))
    throw UsageError("--sub is required (see --help)");
  if (sub <= 0)
    throw UsageError("--sub must be a positive user id");
  if (count <= 0)
    throw UsageError("--count must be positive");
  if (sub > std::numeric_limits<std::int64_t>::max() - (count - 1))
    throw UsageError("--sub + --count overflows a user id");
  if (ttl <= 0)
    throw UsageError("--ttl must be positive");

  jwt_key key;
  try {
    key = vm.count("secret-file") ? boxoffice::http::read_hs256_secret(secret_file)
                                  : boxoffice::http::read_pem_key(private_key_file, true);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  jwt_claims claims;
  claims.issuer = issuer;
  claims.audience = audience;
  claims.expires_at = expired ? now - 3600 : now + ttl;
  claims.issued_at = claims.expires_at - ttl;
  for (std::int64_t i = 0; i < count; ++i) {
    claims.subject = sub + i;
    try {
      std::cout << boxoffice::http::mint_jwt(key, claims) << '\n';
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  std::cout << std::flush;
  return std::cout ? kExitOk : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "jwtmint: " << e.what() << "\n";
    return kExitUsage;
  }
}
