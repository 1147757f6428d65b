// boxoffice: reads its settings, prepares the database, starts the actors and
// the HTTP listener, and stops them all cleanly on SIGINT or SIGTERM.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/runtime.hpp"
#include "app/settings.hpp"

int main(int argc, char** argv) {
  // Block the stop signals first, in every thread we start; main waits for
  // them. A SIGTERM during start-up then means a clean stop once started.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::optional<boxoffice::settings> cfg;
  try {
    cfg = boxoffice::parse_settings(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "boxoffice: " << e.what() << '\n';
    return 2;
  }
  if (!cfg)
    return 0; // --help
  spdlog::set_level(spdlog::level::from_str(cfg->log_level));
  try {
    boxoffice::runtime rt{*cfg};
    rt.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rt.stop();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}
