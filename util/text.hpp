#pragma once
// Plain text helpers for settings, the files they name, and ids.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice {

// Without surrounding spaces, tabs and line ends (a key file's last newline).
std::string trim(const std::string& text);

// The words of a list separated by spaces, tabs or commas.
std::vector<std::string> split_words(const std::string& text);

// The whole file, or nothing when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

// Parses a positive decimal id of at most 18 digits (fits int64 with room).
bool parse_id(std::string_view text, int64_t& out);

} // namespace boxoffice
