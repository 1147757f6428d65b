#pragma once
// Command-line settings of dpsim. Parsed in main.cpp; the server reads the listening part and
// the app turns the fault part into its initial Faults.

#include <cstdint>
#include <string>

namespace dpsim {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9900; // 0 lets the kernel pick; see port_file
  std::string secret;        // empty: signatures are not checked
  std::string port_file;     // where to write the bound port (tests that use port 0)

  // Initial faults; the same knobs POST /faults changes at run time.
  int latency_ms = 0;
  bool hang = false;
  unsigned error_status = 0;
  double error_rate = 1.0;
  int retry_after = 0;
  int refuse_seconds = 0;
};

} // namespace dpsim
