// dpsim — data-platform simulator for boxoffice's outbox dispatcher. See DESIGN.md,
// "Events to the data platform", and `dpsim --help`.

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "options.hpp"
#include "server.hpp"

namespace {

constexpr const char* kUsage = R"(usage: dpsim [options]

Receives boxoffice outbox events over HTTP, deduplicates them by X-Idempotency-Key, checks
signatures and per-aggregate order, and injects faults on command.

options:
  --host HOST            address to listen on (default 127.0.0.1)
  --port PORT            port to listen on (default 9900; 0 = any free port)
  --port-file PATH       write the bound port to PATH once listening
  --secret S             require X-Signature: sha256=<hex HMAC-SHA256 of the body>
  --latency-ms N         delay every event answer by N ms
  --hang                 read event POSTs but never answer them
  --error-status CODE    answer event POSTs with CODE
  --error-rate F         fraction (0..1) of event POSTs that get CODE (default 1)
  --retry-after SECONDS  send Retry-After: SECONDS with injected errors
  --refuse-seconds N     refuse connections for N s from start
  --help                 show this text

endpoints:
  POST <any other path>  event delivery
  GET  /stats /events /health /faults
  POST /faults {latencyMs, hang, errorStatus, errorRate, retryAfter, refuseSeconds,
                failAggregates:{aggregateId: status}}
  DELETE /faults         clear every fault
  POST /reset            clear recorded events and counters (not faults)
)";

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "dpsim: " << message << "\n\n" << kUsage;
  std::exit(2);
}

long long parse_int(const std::string& flag, const std::string& text, long long low,
                    long long high) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < low || value > high)
    usage_error(flag + " expects an integer in " + std::to_string(low) + ".." +
                std::to_string(high) + ", got '" + text + "'");
  return value;
}

double parse_rate(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !(value >= 0.0 && value <= 1.0))
    usage_error(flag + " expects a number in 0..1, got '" + text + "'");
  return value;
}

dpsim::Options parse_options(int argc, char** argv) {
  dpsim::Options options;
  constexpr long long kDay = 24LL * 3600;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1); // --flag=value
      flag.resize(eq);
      has_value = true;
    }
    auto next = [&]() -> const std::string& {
      if (!has_value) {
        if (i + 1 >= argc)
          usage_error(flag + " needs a value");
        value = argv[++i];
        has_value = true;
      }
      return value;
    };

    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--hang") {
      options.hang = true;
    } else if (flag == "--host") {
      options.host = next();
    } else if (flag == "--port") {
      options.port = static_cast<std::uint16_t>(parse_int(flag, next(), 0, 65535));
    } else if (flag == "--port-file") {
      options.port_file = next();
    } else if (flag == "--secret") {
      options.secret = next();
    } else if (flag == "--latency-ms") {
      options.latency_ms = static_cast<int>(parse_int(flag, next(), 0, kDay * 1000));
    } else if (flag == "--error-status") {
      options.error_status = static_cast<unsigned>(parse_int(flag, next(), 100, 599));
    } else if (flag == "--error-rate") {
      options.error_rate = parse_rate(flag, next());
    } else if (flag == "--retry-after") {
      options.retry_after = static_cast<int>(parse_int(flag, next(), 0, kDay));
    } else if (flag == "--refuse-seconds") {
      options.refuse_seconds = static_cast<int>(parse_int(flag, next(), 0, kDay));
    } else {
      usage_error("unknown option '" + flag + "'");
    }
  }
  return options;
}

} // namespace

int main(int argc, char** argv) {
  const dpsim::Options options = parse_options(argc, argv);
  try {
    return dpsim::run_server(options);
  } catch (const std::exception& e) {
    std::cerr << "dpsim: " << e.what() << std::endl;
    return 1;
  }
}
