#include "app/settings.hpp"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "util/text.hpp"

namespace po = boost::program_options;

namespace boxoffice {

namespace {

template <class T> void require_range(const char* name, T value, T lo, T hi) {
  if (value < lo || value > hi)
    throw std::invalid_argument("invalid value for option '" + std::string{name} +
                                "': " + std::to_string(value) + " (allowed " + std::to_string(lo) +
                                ".." + std::to_string(hi) + ")");
}

void require_path(const char* name, const std::string& path) {
  if (path.empty() || path.front() != '/')
    throw std::invalid_argument("invalid value for option '" + std::string{name} +
                                "': must start with '/'");
}

// limits.<name>_per_second and limits.<name>_burst.
void add_limit(po::options_description_easy_init& add, const std::string& name,
               settings::rule& rule, double per_second, double burst, const std::string& what) {
  // program_options copies the names and texts.
  auto prefix = "limits." + name;
  add((prefix + "_per_second").c_str(), po::value(&rule.per_second)->default_value(per_second),
      (what + " per second, refilled continuously (0: no limit)").c_str());
  add((prefix + "_burst").c_str(), po::value(&rule.burst)->default_value(burst),
      (what + " allowed at once after a quiet spell").c_str());
}

po::options_description describe(settings& s, std::string& config_file, int& http_port,
                                 int& admin_port) {
  po::options_description d{"boxoffice options (config.ini keys and --flags share names)"};
  auto add = d.add_options();
  add("help", "print this help and exit");
  add("config", po::value(&config_file)->default_value("config.ini"), "configuration file");
  add("http.host", po::value(&s.http.host)->default_value("127.0.0.1"), "address to listen on");
  add("http.port", po::value(&http_port)->default_value(8080), "port to listen on (0: any free)");
  add("http.threads", po::value(&s.http.threads)->default_value(1), "Asio threads for HTTP");
  add("http.max_body_bytes", po::value(&s.http.max_body_bytes)->default_value(16384),
      "largest request body accepted (413 beyond)");
  add("http.max_header_bytes", po::value(&s.http.max_header_bytes)->default_value(8192),
      "largest request header block accepted (431 beyond)");
  add("http.read_timeout_seconds", po::value(&s.http.read_timeout_seconds)->default_value(10),
      "a client must send a whole request within this time");
  add("http.max_in_flight", po::value(&s.http.max_in_flight)->default_value(4096),
      "requests being processed at once; beyond it the server answers 503 at once");
  add("http.max_connections", po::value(&s.http.max_connections)->default_value(10000),
      "connections open at once; beyond it a new one is answered 503 and closed");
  add("http.idle_timeout_seconds", po::value(&s.http.idle_timeout_seconds)->default_value(30),
      "a keep-alive connection is closed after this long without a request");
  add("http.api_workers", po::value(&s.http.api_workers)->default_value(2),
      "api actors that take the requests the listener cannot answer itself, in turn");
  add("http.seat_map_refresh_ms", po::value(&s.http.seat_map_refresh_ms)->default_value(25),
      "while seats keep changing, a seat map is rendered at most this often (and is at most "
      "this old)");
  add("http.stream_buffer_bytes", po::value(&s.http.stream_buffer_bytes)->default_value(262144),
      "unsent bytes a live seat map may queue; a reader further behind is dropped");
  add("http.max_streams", po::value(&s.http.max_streams)->default_value(5000),
      "live seat maps open at once; beyond it a new one is answered 503");
  add("database.url", po::value(&s.database.url)->default_value(""),
      "libpq connection string, e.g. postgresql://user@127.0.0.1:5432/boxoffice");
  add("database.pool_size", po::value(&s.database.pool_size)->default_value(4),
      "database connections (each on its own storage thread)");
  add("database.max_batch", po::value(&s.database.max_batch)->default_value(64),
      "most writes that share one commit");
  add("demo.seed", po::value(&s.demo.seed)->default_value(true),
      "load demo concerts when the catalogue is empty");
  add("demo.seats_per_schedule", po::value(&s.demo.seats_per_schedule)->default_value(50),
      "seats in each demo schedule");
  add("hold.ttl_seconds", po::value(&s.hold.ttl_seconds)->default_value(300),
      "how long a held seat waits for payment");
  add("hold.max_per_user", po::value(&s.hold.max_per_user)->default_value(4),
      "simultaneous holds per user");
  add("queue.admit_per_second", po::value(&s.queue.admit_per_second)->default_value(100),
      "waiting users admitted per second");
  add("queue.max_active", po::value(&s.queue.max_active)->default_value(1000),
      "most users active at once");
  add("queue.active_ttl_seconds", po::value(&s.queue.active_ttl_seconds)->default_value(600),
      "an active token expires after this long without use");
  add("queue.poll_grace_seconds", po::value(&s.queue.poll_grace_seconds)->default_value(20),
      "a waiting user not polling for this long is passed over at admission, keeping the place");
  add("points.min_charge", po::value(&s.points.min_charge)->default_value(1),
      "smallest charge accepted");
  add("points.max_charge", po::value(&s.points.max_charge)->default_value(10000000),
      "largest charge accepted");
  add("dataplatform.url", po::value(&s.dataplatform.url)->default_value(""),
      "base URL of the data platform (http:// or https://); empty: events stay in the outbox");
  add("dataplatform.reservation_path",
      po::value(&s.dataplatform.reservation_path)->default_value("/events/reservations"),
      "path of the reservation stream");
  add("dataplatform.order_path",
      po::value(&s.dataplatform.order_path)->default_value("/events/orders"),
      "path of the order stream");
  add("dataplatform.secret", po::value(&s.dataplatform.secret)->default_value(""),
      "HMAC-SHA256 key for X-Signature; empty: unsigned");
  add("dataplatform.max_age_seconds",
      po::value(&s.dataplatform.max_age_seconds)->default_value(86400),
      "events older than this go to the dead letters");
  add("dataplatform.timeout_ms", po::value(&s.dataplatform.timeout_ms)->default_value(2000),
      "connect and response timeout per delivery");
  add("dataplatform.max_in_flight", po::value(&s.dataplatform.max_in_flight)->default_value(32),
      "deliveries in flight at once");
  add("dataplatform.scan_interval_ms",
      po::value(&s.dataplatform.scan_interval_ms)->default_value(1000),
      "how often the outbox is scanned as a backstop");
  add("dataplatform.retain_delivered_seconds",
      po::value(&s.dataplatform.retain_delivered_seconds)->default_value(3600),
      "delivered rows are pruned after this long");
  add("dataplatform.breaker_window", po::value(&s.dataplatform.breaker_window)->default_value(20),
      "calls the circuit breaker looks back over");
  add("dataplatform.breaker_failure_percent",
      po::value(&s.dataplatform.breaker_failure_percent)->default_value(50),
      "failure share that opens the breaker");
  add("dataplatform.breaker_open_seconds",
      po::value(&s.dataplatform.breaker_open_seconds)->default_value(30),
      "how long an open breaker stops calls");
  add("dataplatform.breaker_probes", po::value(&s.dataplatform.breaker_probes)->default_value(3),
      "successful half-open probes that close the breaker");
  add("admin.host", po::value(&s.admin.host)->default_value("127.0.0.1"),
      "address of the admin listener (loopback by default)");
  add("admin.port", po::value(&admin_port)->default_value(9090), "admin port (0: disabled)");
  add("admin.key", po::value(&s.admin.key)->default_value(""),
      "bearer key for the admin listener; empty: admin.key_file, else the BOXOFFICE_ADMIN_KEY "
      "environment variable, else admin disabled");
  add("admin.key_file", po::value(&s.admin.key_file)->default_value(""),
      "file holding the admin key (surrounding whitespace ignored); keeps it off the command line");
  add("admin.chart_js",
      po::value(&s.admin.chart_js)->default_value("/usr/share/javascript/chart.js/chart.min.js"),
      "Chart.js file the console's charts use, read once at start-up (Debian: libjs-chart.js); "
      "missing: the console shows its figures without charts");
  add("actors.threads", po::value(&s.actors.threads)->default_value(2), "CAF scheduler threads");
  add("actors.idle_seconds", po::value(&s.actors.idle_seconds)->default_value(60),
      "seat, reservation and wallet actors with nothing to do passivate after this many seconds");
  add("actors.scheduler", po::value(&s.actors.scheduler)->default_value("sharing"),
      "CAF scheduler policy: sharing (idle threads block) or stealing (idle threads poll)");
  add("payments.one_commit", po::value(&s.payments.one_commit)->default_value(true),
      "complete a payment's happy path in one transaction (false: every payment runs the "
      "step-by-step saga, one commit per step)");
  add("cluster.node_id", po::value(&s.cluster.node_id)->default_value("node-1"),
      "this node's name; a restart of the same node supersedes (fences) the earlier process");
  add("cluster.partitions", po::value(&s.cluster.partitions)->default_value(64),
      "partitions of schedules (by schedule id) and wallets (by user id); fixed for a database");
  add("cluster.lease_seconds", po::value(&s.cluster.lease_seconds)->default_value(10),
      "a partition lease not renewed for this long expires (renewed every third of it)");
  add("cluster.host", po::value(&s.cluster.host)->default_value("127.0.0.1"),
      "the address the middleman (node-to-node actor messages) binds and is reached at");
  add("cluster.port", po::value(&s.cluster.port)->default_value(0),
      "the middleman's port; 0: clustering off, the node must be alone on its database");
  add("cluster.seeds", po::value(&s.cluster.seeds)->default_value(""),
      "the other nodes' host:port, space separated: the cluster's size, for fair shares of "
      "partitions (nodes find each other through the database)");
  add("auth.mode", po::value(&s.auth.mode)->default_value("none"),
      "none: the userId a request names is trusted (a gateway in front checked it); jwt: every "
      "route that names a user needs Authorization: Bearer <JWT> whose sub is that user");
  add("auth.hs256_secret_file", po::value(&s.auth.hs256_secret_file)->default_value(""),
      "file holding the HS256 secret (at least 32 bytes) that signs fans' tokens");
  add("auth.public_key_file", po::value(&s.auth.public_key_file)->default_value(""),
      "PEM public key that verifies fans' tokens: RSA (RS256) or P-256 (ES256)");
  add("auth.issuer", po::value(&s.auth.issuer)->default_value(""),
      "required iss of every token (empty: not checked)");
  add("auth.audience", po::value(&s.auth.audience)->default_value(""),
      "required aud of every token (empty: not checked)");
  add("auth.leeway_seconds", po::value(&s.auth.leeway_seconds)->default_value(30),
      "clock skew allowed when checking exp and nbf");
  add("auth.max_token_bytes", po::value(&s.auth.max_token_bytes)->default_value(4096),
      "longer bearer tokens are refused before decoding");
  add("limits.enabled", po::value(&s.limits.enabled)->default_value(true),
      "abuse limits on (false: every limit off, e.g. for capacity benchmarks)");
  add_limit(add, "queue_token", s.limits.queue_token, 2, 10, "queue-token requests per user");
  add_limit(add, "hold", s.limits.hold, 20, 40, "holds per user");
  add_limit(add, "payment", s.limits.payment, 10, 20, "payments per user");
  add_limit(add, "charge", s.limits.charge, 10, 20, "point charges per user");
  add_limit(add, "address", s.limits.address, 50, 100,
            "requests per client address on the routes that name no user (seat maps, "
            "catalogue, queue status)");
  add("limits.trusted_addresses",
      po::value(&s.limits.trusted_addresses)->default_value("127.0.0.1 ::1"),
      "client addresses exempt from the per-address limit (a gateway or proxy speaking for "
      "many fans), separated by spaces or commas");
  add("limits.max_tracked_keys", po::value(&s.limits.max_tracked_keys)->default_value(200000),
      "users or addresses each limit remembers at most");
  add("log.level", po::value(&s.log_level)->default_value("info"),
      "trace, debug, info, warn, error");
  return d;
}

void validate_access(const settings& s) {
  auto& a = s.auth;
  if (a.mode != "none" && a.mode != "jwt")
    throw std::invalid_argument("invalid value for option 'auth.mode': must be none or jwt");
  if (a.mode == "jwt" && a.hs256_secret_file.empty() == a.public_key_file.empty())
    throw std::invalid_argument("auth.mode = jwt needs exactly one of 'auth.hs256_secret_file' "
                                "and 'auth.public_key_file'");
  require_range("auth.leeway_seconds", a.leeway_seconds, 0, 3600);
  require_range("auth.max_token_bytes", a.max_token_bytes, 256, 65536);
  auto& l = s.limits;
  for (auto [name, rule] : {std::pair{"queue_token", l.queue_token},
                            {"hold", l.hold},
                            {"payment", l.payment},
                            {"charge", l.charge},
                            {"address", l.address}}) {
    auto key = std::string{"limits."} + name;
    require_range((key + "_per_second").c_str(), rule.per_second, 0.0, 1e6);
    require_range((key + "_burst").c_str(), rule.burst, 1.0, 1e6);
  }
  require_range("limits.max_tracked_keys", l.max_tracked_keys, 100, 10000000);
}

void validate(const settings& s, int http_port, int admin_port) {
  require_range("http.port", http_port, 0, 65535);
  require_range("admin.port", admin_port, 0, 65535);
  require_range("http.threads", s.http.threads, 1, 64);
  require_range<uint32_t>("http.max_body_bytes", s.http.max_body_bytes, 64, 16u << 20);
  require_range<uint32_t>("http.max_header_bytes", s.http.max_header_bytes, 512, 1u << 20);
  require_range("http.read_timeout_seconds", s.http.read_timeout_seconds, 1, 3600);
  require_range("http.api_workers", s.http.api_workers, 1, 64);
  require_range("http.seat_map_refresh_ms", s.http.seat_map_refresh_ms, 0, 10000);
  require_range("http.max_in_flight", s.http.max_in_flight, 1, 1000000);
  require_range("http.max_connections", s.http.max_connections, 1, 1000000);
  require_range<uint32_t>("http.stream_buffer_bytes", s.http.stream_buffer_bytes, 256, 1u << 30);
  require_range("http.max_streams", s.http.max_streams, 0, 1000000);
  require_range("http.idle_timeout_seconds", s.http.idle_timeout_seconds, 1, 3600);
  require_range("database.pool_size", s.database.pool_size, 1, 64);
  require_range("database.max_batch", s.database.max_batch, 1, 1000);
  require_range("demo.seats_per_schedule", s.demo.seats_per_schedule, 1, 1000000);
  require_range("hold.ttl_seconds", s.hold.ttl_seconds, 1, 86400);
  require_range("hold.max_per_user", s.hold.max_per_user, 1, 1000);
  require_range("queue.admit_per_second", s.queue.admit_per_second, 1, 1000000);
  require_range("queue.max_active", s.queue.max_active, 1, 10000000);
  require_range("queue.active_ttl_seconds", s.queue.active_ttl_seconds, 1, 86400);
  require_range("queue.poll_grace_seconds", s.queue.poll_grace_seconds, 1, 86400);
  require_range<int64_t>("points.min_charge", s.points.min_charge, 1, s.points.max_charge);
  require_range<int64_t>("points.max_charge", s.points.max_charge, 1, int64_t{1} << 40);
  require_range("dataplatform.max_age_seconds", s.dataplatform.max_age_seconds, 1, 30 * 86400);
  require_range("dataplatform.timeout_ms", s.dataplatform.timeout_ms, 10, 600000);
  require_range("dataplatform.max_in_flight", s.dataplatform.max_in_flight, 1, 4096);
  require_range("dataplatform.scan_interval_ms", s.dataplatform.scan_interval_ms, 10, 600000);
  require_range("dataplatform.retain_delivered_seconds", s.dataplatform.retain_delivered_seconds, 0,
                30 * 86400);
  require_range("dataplatform.breaker_window", s.dataplatform.breaker_window, 1, 10000);
  require_range("dataplatform.breaker_failure_percent", s.dataplatform.breaker_failure_percent, 1,
                100);
  require_range("dataplatform.breaker_open_seconds", s.dataplatform.breaker_open_seconds, 1, 3600);
  require_range("dataplatform.breaker_probes", s.dataplatform.breaker_probes, 1, 100);
  require_range("actors.threads", s.actors.threads, 1, 256);
  require_range("actors.idle_seconds", s.actors.idle_seconds, 1, 86400);
  if (s.actors.scheduler != "sharing" && s.actors.scheduler != "stealing")
    throw std::invalid_argument("invalid value for option 'actors.scheduler': must be sharing or "
                                "stealing");
  require_range("cluster.partitions", s.cluster.partitions, 1, 4096);
  require_range("cluster.lease_seconds", s.cluster.lease_seconds, 3, 300);
  require_range("cluster.port", s.cluster.port, 0, 65535);
  if (s.cluster.node_id.empty() || s.cluster.node_id.size() > 64)
    throw std::invalid_argument("invalid value for option 'cluster.node_id': 1 to 64 characters");
  validate_access(s);
  require_path("dataplatform.reservation_path", s.dataplatform.reservation_path);
  require_path("dataplatform.order_path", s.dataplatform.order_path);
  auto& u = s.dataplatform.url;
  if (!u.empty() && u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
    throw std::invalid_argument("invalid value for option 'dataplatform.url': must start with "
                                "http:// or https://");
  if (s.database.url.empty())
    throw std::invalid_argument("option 'database.url' is required (a libpq connection string)");
}

std::string read_key_file(const std::string& path) {
  auto content = read_file(path);
  if (!content)
    throw std::invalid_argument("invalid value for option 'admin.key_file': cannot read " + path);
  auto key = trim(*content);
  if (key.empty())
    throw std::invalid_argument("invalid value for option 'admin.key_file': " + path + " is empty");
  return key;
}

// The admin key from exactly one place: admin.key, admin.key_file, or else the
// BOXOFFICE_ADMIN_KEY environment variable (files and the environment keep
// it out of `ps` and shell history).
void resolve_admin_key(settings& s) {
  if (!s.admin.key.empty() && !s.admin.key_file.empty())
    throw std::invalid_argument("options 'admin.key' and 'admin.key_file' exclude each other");
  if (!s.admin.key_file.empty())
    s.admin.key = read_key_file(s.admin.key_file);
  else if (s.admin.key.empty())
    if (const char* env = std::getenv("BOXOFFICE_ADMIN_KEY"))
      s.admin.key = trim(env);
}

} // namespace

std::optional<settings> parse_settings(int argc, char** argv) {
  settings s;
  std::string config_file;
  int http_port = 0;
  int admin_port = 0;
  auto desc = describe(s, config_file, http_port, admin_port);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << '\n';
      return std::nullopt;
    }
    auto file = vm["config"].as<std::string>();
    bool explicit_file = !vm["config"].defaulted();
    if (std::filesystem::exists(file))
      po::store(po::parse_config_file(file.c_str(), desc), vm);
    else if (explicit_file)
      throw std::invalid_argument("configuration file not found: " + file);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  validate(s, http_port, admin_port);
  resolve_admin_key(s);
  s.http.port = static_cast<uint16_t>(http_port);
  s.admin.port = static_cast<uint16_t>(admin_port);
  return s;
}

} // namespace boxoffice
