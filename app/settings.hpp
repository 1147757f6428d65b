#pragma once
// Every option of config.ini, also settable on the command line with the same
// dotted name (--http.port 8080). Defaults live in settings.cpp, next to the
// option's description.

#include <cstdint>
#include <optional>
#include <string>

namespace boxoffice {

struct settings {
  struct {
    std::string host;
    uint16_t port;
    int threads;
    int api_workers;
    uint32_t max_body_bytes;
    uint32_t max_header_bytes;
    int read_timeout_seconds;
    int max_in_flight;
    int max_connections;
    int idle_timeout_seconds;
    int seat_map_refresh_ms;
    uint32_t stream_buffer_bytes;
    int max_streams;
  } http;
  struct {
    std::string url;
    int pool_size;
    int max_batch;
  } database;
  struct {
    bool seed;
    int seats_per_schedule;
  } demo;
  struct {
    int ttl_seconds;
    int max_per_user;
  } hold;
  struct {
    int admit_per_second;
    int max_active;
    int active_ttl_seconds;
    int poll_grace_seconds;
  } queue;
  struct {
    int64_t min_charge;
    int64_t max_charge;
  } points;
  struct {
    std::string url;
    std::string reservation_path;
    std::string order_path;
    std::string secret;
    int max_age_seconds;
    int timeout_ms;
    int max_in_flight;
    int scan_interval_ms;
    int retain_delivered_seconds;
    int breaker_window;
    int breaker_failure_percent;
    int breaker_open_seconds;
    int breaker_probes;
  } dataplatform;
  struct {
    std::string host;
    uint16_t port;
    std::string key;      // resolved from admin.key, admin.key_file or BOXOFFICE_ADMIN_KEY
    std::string key_file; // where the key was read from, if from a file
    std::string chart_js; // Chart.js served to the console (Debian's libjs-chart.js)
  } admin;
  struct {
    int threads;
    std::string scheduler; // "sharing" or "stealing"
    int idle_seconds;
  } actors;
  struct {
    bool one_commit; // the happy path in one transaction; false: every payment runs the saga
  } payments;
  struct {
    std::string node_id;
    int partitions;
    int lease_seconds;
    std::string host;  // where the middleman listens and is reached
    int port;          // 0: clustering off, this node alone on its database
    std::string seeds; // the other nodes' host:port, space separated
  } cluster;
  struct {
    std::string mode; // "none" or "jwt"
    std::string hs256_secret_file;
    std::string public_key_file;
    std::string issuer;
    std::string audience;
    int leeway_seconds;
    int max_token_bytes;
  } auth;
  // Token buckets: per second (0: off) and burst.
  struct rule {
    double per_second;
    double burst;
  };
  struct {
    bool enabled;
    rule queue_token;
    rule hold;
    rule payment;
    rule charge;
    rule address;
    std::string trusted_addresses; // space- or comma-separated
    int max_tracked_keys;
  } limits;
  std::string log_level;
};

// Parses argv (and the --config file it names, config.ini by default when it
// exists). Returns nothing after --help. Throws std::invalid_argument with a
// message naming the offending option.
std::optional<settings> parse_settings(int argc, char** argv);

} // namespace boxoffice
