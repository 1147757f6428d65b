#pragma once
// Lowercase hex of raw bytes: queue tokens, key hashes and event signatures
// all print digests this way.

#include <cstddef>
#include <string>

namespace boxoffice {

std::string to_hex(const unsigned char* bytes, std::size_t size);

} // namespace boxoffice
