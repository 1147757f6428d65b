#pragma once
// Plain text helpers for settings and the key files they name.

#include <string>
#include <vector>

namespace boxoffice {

// Without surrounding spaces, tabs and line ends (a key file's last newline).
std::string trim(const std::string& text);

// The words of a list separated by spaces, tabs or commas.
std::vector<std::string> split_words(const std::string& text);

} // namespace boxoffice
