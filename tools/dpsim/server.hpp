#pragma once
// The HTTP side of dpsim (Boost.Beast, one io_context thread). Only this declaration is public
// so that Beast stays inside server.cpp.

#include "options.hpp"

namespace dpsim {

// Listens, serves until SIGINT/SIGTERM, then closes every connection and returns 0.
// Throws std::exception when the listening socket cannot be set up.
int run_server(const Options& options);

} // namespace dpsim
