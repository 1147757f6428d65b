#include "tools/loadgen/options.hpp"

#include <iostream>

#include <boost/program_options.hpp>

namespace boxoffice::loadgen {

namespace po = boost::program_options;

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::flash_crowd:
      return "flash-crowd";
    case Scenario::hot_seat:
      return "hot-seat";
    case Scenario::steady:
      return "steady";
    case Scenario::outage:
      return "outage";
    case Scenario::holds:
      return "holds";
    case Scenario::payments:
      return "payments";
  }
  return "?";
}

const char* seat_format_name(SeatFormat f) {
  return f == SeatFormat::compact ? "compact" : "full";
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  std::string scenario = "flash-crowd";
  std::string seat_format = "full";
  bool no_pay = false;
  bool quiet = false;
  po::options_description desc(
    "loadgen: load driver for boxoffice\n"
    "usage: loadgen --scenario flash-crowd|hot-seat|steady|outage|holds|payments "
    "[options]\n\noptions");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help")
    ("scenario", po::value(&scenario)->default_value(scenario),
       "flash-crowd | hot-seat | steady | outage | holds | payments")
    ("target", po::value(&o.targets)->composing()->default_value(o.targets, o.target),
       "server base URL (http only); repeat it for several servers (--target URL1 --target URL2): "
       "fan i sends all its requests to target i mod N; discovery uses the first")
    ("users", po::value(&o.users)->default_value(o.users),
       "fans (flash-crowd, outage, payments) or clients (hot-seat, holds)")
    ("rate", po::value(&o.rate)->default_value(o.rate),
       "arrivals per second (steady; outage uses steady arrivals when > 0); holds: holds per "
       "second in all (0: each client holds as soon as its last hold was answered)")
    ("duration", po::value(&o.duration)->default_value(o.duration),
       "seconds of arrivals (steady, default 30), of the storm (hot-seat, default 10), or the "
       "longest timed window (holds, default 60)")
    ("connections", po::value(&o.connections)->default_value(o.connections),
       "keep-alive connections to the server (in total, spread over the io threads)")
    ("threads", po::value(&o.threads)->default_value(o.threads), "io threads (1 or 2 is plenty)")
    ("seed", po::value(&o.seed)->default_value(o.seed), "random seed (seat choices)")
    ("concert", po::value(&o.concert)->default_value(o.concert),
       "concert id (0: the concert of --schedule, or the first concert)")
    ("schedule", po::value(&o.schedule)->default_value(o.schedule),
       "schedule id (0: the first schedule of the concert)")
    ("seats", po::value(&o.seats)->default_value(o.seats),
       "hot-seat: seats 1..N are hammered; holds, payments: seats 1..N are partitioned among the "
       "clients (default there: the schedule's totalSeats)")
    ("holds-per-user", po::value(&o.holds_per_user)->default_value(o.holds_per_user),
       "holds: distinct seats each client holds; keep it <= the server's hold.max_per_user")
    ("streams", po::value(&o.streams)->default_value(o.streams),
       "holds: live seat maps (GET .../seats/stream) opened by as many more fans before the "
       "window and read through it; reports events/s and hold sent -> seen on a stream")
    ("points", po::value(&o.points)->default_value(o.points),
       "points charged to each user before booking (0: none)")
    ("user-base", po::value(&o.user_base),
       "first user id (default: max user id in --db + 1, else derived from the clock)")
    ("db", po::value(&o.db)->default_value(o.db),
       "libpq connection string for invariant checks (empty: PG* environment)")
    ("dpsim", po::value(&o.dpsim)->default_value(o.dpsim),
       "data-platform simulator URL (enables the delivery checks; needed by outage)")
    ("drain-timeout", po::value(&o.drain_timeout)->default_value(o.drain_timeout),
       "seconds to wait for sagas to finish and the outbox to drain before checking")
    ("json", po::value(&o.json_file), "write the results as JSON to this file")
    ("no-check", po::bool_switch(&o.no_check), "skip the invariant checks")
    ("timeout", po::value(&o.timeout)->default_value(o.timeout), "per-request timeout, seconds")
    ("hold-tries", po::value(&o.hold_tries)->default_value(o.hold_tries),
       "seats a fan tries to hold before giving up")
    ("seat-format", po::value(&seat_format)->default_value(seat_format),
       "full | compact: the seat map the booking funnel reads (compact: ?format=compact, runs of "
       "seat numbers and one status letter a seat)")
    ("max-wait", po::value(&o.max_wait)->default_value(o.max_wait),
       "longest wait in the waiting room, seconds")
    ("no-pay", po::bool_switch(&no_pay), "hot-seat: do not pay for successful holds")
    ("outage-start", po::value(&o.outage_start)->default_value(o.outage_start),
       "outage: seconds into the run when the simulator starts refusing connections")
    ("outage-seconds", po::value(&o.outage_seconds)->default_value(o.outage_seconds),
       "outage: how long it refuses")
    ("shed-retries", po::value(&o.shed_retries)->default_value(o.shed_retries),
       "retries of a 429/503 answer after its Retry-After")
    ("jwt-secret-file", po::value(&o.jwt_secret_file),
       "auth.mode = jwt: sign an HS256 token for each fan (sub = its user id) with the secret in "
       "this file and send it as Authorization: Bearer on every request the fan makes")
    ("jwt-issuer", po::value(&o.jwt_issuer), "iss claim of the fans' tokens (the server's auth.issuer)")
    ("jwt-audience", po::value(&o.jwt_audience),
       "aud claim of the fans' tokens (the server's auth.audience)")
    ("quiet", po::bool_switch(&quiet), "no live progress line");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  if (vm.count("help")) {
    std::cout << desc
              << "\nexit codes: 0 ok, 1 an invariant failed or could not be checked, "
                 "2 usage error, 3 the run could not start\n";
    return std::nullopt;
  }
  if (scenario == "flash-crowd")
    o.scenario = Scenario::flash_crowd;
  else if (scenario == "hot-seat")
    o.scenario = Scenario::hot_seat;
  else if (scenario == "steady")
    o.scenario = Scenario::steady;
  else if (scenario == "outage")
    o.scenario = Scenario::outage;
  else if (scenario == "holds")
    o.scenario = Scenario::holds;
  else if (scenario == "payments")
    o.scenario = Scenario::payments;
  else
    throw UsageError("unknown --scenario '" + scenario + "'");

  if (seat_format == "full")
    o.seat_format = SeatFormat::full;
  else if (seat_format == "compact")
    o.seat_format = SeatFormat::compact;
  else
    throw UsageError("--seat-format must be full or compact, not '" + seat_format + "'");

  if (o.targets.empty())
    throw UsageError("--target needs a URL");
  o.target_urls.clear();
  for (const auto& t : o.targets) {
    if (t.find(',') != std::string::npos)
      throw UsageError("--target takes one URL, not '" + t +
                       "': repeat --target for several servers");
    auto url = parse_url(t);
    if (!url)
      throw UsageError("--target must look like http://host:port, not '" + t + "'");
    o.target_urls.push_back(*url);
  }
  o.target = o.targets.front();
  o.target_url = o.target_urls.front();
  if (!o.dpsim.empty()) {
    o.dpsim_url = parse_url(o.dpsim);
    if (!o.dpsim_url)
      throw UsageError("--dpsim must look like http://host:port");
  }
  o.user_base_given = vm.count("user-base") > 0;
  if (o.user_base_given && o.user_base <= 0)
    throw UsageError("--user-base must be positive");
  o.pay = !no_pay;
  o.progress = !quiet;
  o.seats_given = !vm["seats"].defaulted();
  if (o.duration == 0)
    o.duration = o.scenario == Scenario::hot_seat ? 10 : o.scenario == Scenario::holds ? 60 : 30;

  if (o.users <= 0 && o.scenario != Scenario::steady)
    throw UsageError("--users must be positive");
  if (o.duration < 0)
    throw UsageError("--duration must be positive");
  if (o.connections == 0)
    throw UsageError("--connections must be positive");
  if (o.threads == 0 || o.threads > 64)
    throw UsageError("--threads must be 1..64");
  if (o.seats <= 0)
    throw UsageError("--seats must be positive");
  if (o.points < 0)
    throw UsageError("--points must not be negative");
  if (o.timeout <= 0)
    throw UsageError("--timeout must be positive");
  if (o.holds_per_user <= 0)
    throw UsageError("--holds-per-user must be positive");
  if (o.hold_tries <= 0)
    throw UsageError("--hold-tries must be positive");
  if (o.drain_timeout < 0)
    throw UsageError("--drain-timeout must not be negative");
  if (o.rate < 0)
    throw UsageError("--rate must not be negative");
  if (o.streams < 0 || o.streams > 100000)
    throw UsageError("--streams must be 0..100000");
  if (o.streams > 0 && o.scenario != Scenario::holds)
    throw UsageError("--streams needs --scenario holds");
  if (o.scenario == Scenario::steady && o.rate <= 0)
    throw UsageError("steady needs --rate > 0");
  if (o.scenario == Scenario::outage) {
    if (!o.dpsim_url)
      throw UsageError("outage needs --dpsim");
    if (o.outage_start < 0 || o.outage_seconds <= 0)
      throw UsageError("--outage-start must be >= 0 and --outage-seconds > 0");
  }
  if (!o.jwt_secret_file.empty()) {
    try {
      o.jwt_key = http::read_hs256_secret(o.jwt_secret_file);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--jwt-secret-file: ") + e.what());
    }
  } else if (!o.jwt_issuer.empty() || !o.jwt_audience.empty()) {
    throw UsageError("--jwt-issuer and --jwt-audience need --jwt-secret-file");
  }
  return o;
}

nlohmann::ordered_json options_json(const Options& o) {
  nlohmann::ordered_json j;
  j["target"] = o.target;
  j["targets"] = o.targets;
  j["users"] = o.users;
  j["rate"] = o.rate;
  j["duration"] = o.duration;
  j["connections"] = o.connections;
  j["threads"] = o.threads;
  j["seed"] = o.seed;
  j["concert"] = o.concert;
  j["schedule"] = o.schedule;
  if (o.scenario == Scenario::holds || o.scenario == Scenario::payments)
    j["seats"] =
      o.seats_given ? nlohmann::ordered_json(o.seats) : nlohmann::ordered_json("schedule");
  else
    j["seats"] = o.seats;
  if (o.scenario == Scenario::holds) {
    j["holdsPerUser"] = o.holds_per_user;
    j["streams"] = o.streams;
  }
  j["points"] = o.points;
  j["userBase"] = o.user_base;
  j["dpsim"] = o.dpsim;
  j["drainTimeout"] = o.drain_timeout;
  j["check"] = !o.no_check;
  j["timeout"] = o.timeout;
  j["holdTries"] = o.hold_tries;
  j["seatFormat"] = seat_format_name(o.seat_format);
  j["maxWait"] = o.max_wait;
  j["pay"] = o.pay;
  if (o.scenario == Scenario::outage) {
    j["outageStart"] = o.outage_start;
    j["outageSeconds"] = o.outage_seconds;
  }
  j["shedRetries"] = o.shed_retries;
  j["jwt"] = o.jwt_key.has_value();
  if (o.jwt_key) {
    j["jwtIssuer"] = o.jwt_issuer;
    j["jwtAudience"] = o.jwt_audience;
  }
  return j;
}

} // namespace boxoffice::loadgen
