#pragma once
// The simulator's behaviour without the transport: routes a request, applies faults, checks
// signatures, records events and says what the HTTP layer must do (answer now or later, hang,
// close or refuse connections). Kept free of Beast so the logic reads on its own.

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "faults.hpp"
#include "options.hpp"
#include "recorder.hpp"

namespace dpsim {

struct Request {
  std::string method; // "GET", "POST", ...
  std::string target; // path plus optional query
  std::optional<std::string> idempotency_key;
  std::string event_type_header;
  std::optional<std::string> signature;
  std::string body;
};

struct Reply {
  unsigned status = 200;
  std::string body;    // JSON
  int retry_after = 0; // seconds for a Retry-After header; 0 = none
  int delay_ms = 0;    // wait this long before answering
  bool hang = false;   // never answer; keep the connection until hang is turned off

  // Connection-level effects of a fault change, carried out by the server.
  bool release_hung = false; // close the connections of hung requests
  int refuse_seconds = 0;    // > 0: stop listening now and drop connections for this long
  bool reopen_now = false;   // a refusal under way was cancelled
};

class App {
public:
  explicit App(const Options& options);

  Reply handle(const Request& request);
  const Faults& faults() const { return faults_; }
  // The server calls this when a refusal window is over and it listens again.
  void refusal_ended() { faults_.refuse_seconds = 0; }

private:
  Reply handle_event(const Request& request, const std::string& path);
  Reply change_faults(const std::string& body);
  Reply clear_faults();
  Reply faults_reply(const Faults& before);
  bool roll_error();

  std::string secret_;
  Faults faults_;
  Recorder recorder_;
  std::mt19937_64 rng_{std::random_device{}()};
};

} // namespace dpsim
