#include "app/runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include "actors/catalogue_actor.hpp"
#include "actors/cluster_routers.hpp"
#include "actors/db_actor.hpp"
#include "actors/dispatcher_actor.hpp"
#include "actors/inspector_actor.hpp"
#include "actors/lease_actor.hpp"
#include "actors/reservation_registry_actor.hpp"
#include "actors/saga_manager_actor.hpp"
#include "actors/waiting_room_actor.hpp"
#include "actors/wallet_actor.hpp"
#include "actors/wallet_registry_actor.hpp"
#include "http/admin/admin_actor.hpp"
#include "http/api/api_actor.hpp"
#include "http/api/direct_reads.hpp"
#include "http/api/front_door.hpp"
#include "http/api/payment_answer.hpp"
#include "http/bridge_supervisor.hpp"
#include "http/platform/event_signing.hpp"
#include "http/platform/platform_client.hpp"
#include "http/server.hpp"
#include "messages/errors.hpp"
#include "messages/vocabulary.hpp"
#include "storage/cluster_store.hpp"
#include "storage/demo_seed.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"
#include "util/text.hpp"

namespace boxoffice {

namespace {

std::unique_ptr<caf::actor_system_config> make_caf_config(const settings& cfg) {
  auto c = std::make_unique<caf::actor_system_config>();
  c->add_message_types<caf::id_block::boxoffice>();
  c->add_message_types<caf::id_block::boxoffice_handles>();
  add_booking_error_category(*c);
  if (cfg.cluster.port != 0) {
    c->load<caf::io::middleman>();
    // A peer of another application (or another build's vocabulary name) is
    // refused at the handshake.
    c->set("middleman.app-identifiers", std::vector<std::string>{"boxoffice-1"});
  }
  c->set("scheduler.max-threads", static_cast<size_t>(cfg.actors.threads));
  // Measured on 2 cores (docs/BENCHMARKS.md): see actors.scheduler in config.ini.
  c->set("scheduler.policy",
         cfg.actors.scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  // Keep CAF from parsing our argv or reading caf-application.ini.
  return c;
}

storage::lease_terms lease_terms_of(const settings& cfg) {
  auto seeds = static_cast<int>(split_words(cfg.cluster.seeds).size());
  return {cfg.cluster.partitions, cfg.cluster.lease_seconds, 1 + seeds};
}

// Becomes the node's current incarnation and claims its share of the
// partitions, or refuses to start beside a live node it could not route to
// (clustering off on either side). Returns the map as it stands.
storage::partition_map join_cluster(const settings& cfg, const storage::node_identity& me) {
  storage::pg_connection conn{cfg.database.url};
  if (auto other = storage::join_cluster(conn, me, lease_terms_of(cfg)))
    throw std::runtime_error(
      "node '" + *other + "' is live on this database (seen within " +
      std::to_string(cfg.cluster.lease_seconds) +
      " s) and one of the two runs without clustering (cluster.port = 0); the same node "
      "restarted takes over at once: use its cluster.node_id, or set cluster.port on both");
  auto map = storage::read_partition_map(conn, cfg.cluster.partitions);
  auto owned = std::count(map.owners.begin(), map.owners.end(), me.node_id);
  spdlog::info("node '{}' (incarnation {}) owns {} of the {} partitions", me.node_id,
               me.incarnation, owned, cfg.cluster.partitions);
  return map;
}

void prepare_database(const settings& cfg) {
  storage::pg_connection conn{cfg.database.url};
  auto applied = storage::apply_migrations(conn, storage::embedded_migrations());
  spdlog::info("database ready ({} migration(s) applied)", applied);
  if (cfg.demo.seed && storage::seed_demo_catalogue(conn, cfg.demo.seats_per_schedule))
    spdlog::info("loaded the demo catalogue");
}

dispatcher_config make_dispatcher_config(const settings& cfg) {
  auto& dp = cfg.dataplatform;
  dispatcher_config out;
  out.reservation_path = dp.reservation_path;
  out.order_path = dp.order_path;
  out.max_age_seconds = dp.max_age_seconds;
  out.max_in_flight = dp.max_in_flight;
  out.scan_interval_ms = dp.scan_interval_ms;
  out.retain_delivered_seconds = dp.retain_delivered_seconds;
  out.breaker.window = dp.breaker_window;
  out.breaker.failure_percent = dp.breaker_failure_percent;
  out.breaker.open_for = std::chrono::seconds(dp.breaker_open_seconds);
  out.breaker.half_open_probes = dp.breaker_probes;
  return out;
}

// The dispatcher's transport: the platform client, plus the signature.
event_transport make_transport(http::platform_client& client, std::string secret) {
  return [&client, secret](outbound_event ev, delivery_callback done) {
    http::platform_request req{std::move(ev.path), std::move(ev.body), std::move(ev.headers)};
    if (!secret.empty())
      req.headers.emplace_back("X-Signature", "sha256=" + http::hmac_sha256_hex(secret, req.body));
    client.post(std::move(req), [done = std::move(done)](http::platform_response res) {
      done(res.status, res.error, res.retry_after_seconds);
    });
  };
}

// Each connection costs a file descriptor; the default soft limit (often 1024)
// would cap the server far below http.max_connections. Raise it to the hard
// limit, which only an administrator can raise.
void raise_open_file_limit(int max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return spdlog::warn("cannot read the open-file limit");
  auto before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      lim.rlim_cur = before;
      spdlog::warn("cannot raise the open-file limit from {}", before);
    }
  }
  if (lim.rlim_cur != before)
    spdlog::info("open-file limit raised from {} to {}", before, lim.rlim_cur);
  else
    spdlog::info("open-file limit {}", lim.rlim_cur);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < static_cast<rlim_t>(max_connections) + 64)
    spdlog::warn("the open-file limit {} is below http.max_connections ({}) plus the server's own "
                 "files: accepts will pause when descriptors run out",
                 lim.rlim_cur, max_connections);
}

http::server_limits public_limits(const settings& cfg) {
  http::server_limits limits;
  limits.max_body_bytes = cfg.http.max_body_bytes;
  limits.max_header_bytes = cfg.http.max_header_bytes;
  limits.read_timeout_seconds = cfg.http.read_timeout_seconds;
  limits.max_in_flight = cfg.http.max_in_flight;
  limits.max_connections = cfg.http.max_connections;
  limits.idle_timeout_seconds = cfg.http.idle_timeout_seconds;
  limits.stream_buffer_bytes = cfg.http.stream_buffer_bytes;
  return limits;
}

// The operator listener serves few people: small fixed bounds.
http::server_limits admin_limits(const settings& cfg) {
  http::server_limits limits;
  limits.max_body_bytes = 65536;
  limits.max_header_bytes = 8192;
  limits.read_timeout_seconds = cfg.http.read_timeout_seconds;
  limits.max_in_flight = 64;
  limits.max_connections = 64;
  limits.idle_timeout_seconds = cfg.http.idle_timeout_seconds;
  return limits;
}

// The listener's handler: whichever bridge the supervisor has in the slot now.
http::server::request_handler forward_to(std::shared_ptr<http::bridge_slot> slot) {
  return [slot](http::api_exchange_ptr ex) { caf::anon_send(slot->get(), std::move(ex)); };
}

// The public listener's handler: seat-map reads on the listener's thread when
// they can be, everything else to the api bridges in turn, so that one busy
// bridge (a slow handler, a restart) holds up only its share.
http::server::request_handler
answer_or_forward(http::api_services services,
                  std::vector<std::shared_ptr<http::bridge_slot>> slots) {
  auto next = std::make_shared<std::atomic<size_t>>(0);
  return [services, slots, next](http::api_exchange_ptr ex) {
    try {
      if (http::answer_directly(services, ex))
        return;
    } catch (const std::exception& e) {
      spdlog::error("answering a request on the listener's thread failed: {}", e.what());
    }
    auto& slot = slots[next->fetch_add(1, std::memory_order_relaxed) % slots.size()];
    caf::anon_send(slot->get(), std::move(ex));
  };
}

// Chart.js for the console, read here at start-up so that no request reads a
// file on a scheduler thread. Missing or unreadable: the console works
// without charts and says so.
std::shared_ptr<const std::string> read_chart_library(const std::string& path) {
  auto text = read_file(path);
  if (!text || text->empty()) {
    spdlog::warn("cannot read Chart.js from {} (admin.chart_js; Debian package libjs-chart.js): "
                 "the console will show no charts",
                 path);
    return nullptr;
  }
  return std::make_shared<const std::string>(std::move(*text));
}

http::bucket_rule bucket(const settings::rule& r) {
  return {r.per_second, r.burst};
}

// Reads the verification key now: a missing or unusable key stops start-up.
std::shared_ptr<http::access_policy> make_access_policy(const settings& cfg) {
  http::access_config out;
  auto& a = cfg.auth;
  if (a.mode == "jwt") {
    out.mode = http::auth_mode::jwt;
    out.jwt.key = a.hs256_secret_file.empty() ? http::read_pem_key(a.public_key_file, false)
                                              : http::read_hs256_secret(a.hs256_secret_file);
    out.jwt.issuer = a.issuer;
    out.jwt.audience = a.audience;
    out.jwt.leeway_seconds = a.leeway_seconds;
    out.jwt.max_token_bytes = static_cast<size_t>(a.max_token_bytes);
    spdlog::info("auth.mode = jwt: {} tokens{}{}", http::to_string(out.jwt.key.algorithm),
                 a.issuer.empty() ? "" : ", iss " + a.issuer,
                 a.audience.empty() ? "" : ", aud " + a.audience);
  } else if (!a.hs256_secret_file.empty() || !a.public_key_file.empty()) {
    spdlog::warn("auth.mode = none: the configured token key is not used");
  }
  auto& l = cfg.limits;
  out.limits_enabled = l.enabled;
  out.queue_token = bucket(l.queue_token);
  out.hold = bucket(l.hold);
  out.payment = bucket(l.payment);
  out.charge = bucket(l.charge);
  out.address = bucket(l.address);
  out.trusted_addresses = split_words(l.trusted_addresses);
  out.max_tracked_keys = static_cast<size_t>(l.max_tracked_keys);
  if (!l.enabled)
    spdlog::warn("limits.enabled = false: no abuse limits");
  return std::make_shared<http::access_policy>(std::move(out));
}

// A process stopped in the middle of a transaction (SIGSTOP, a paused VM)
// holds the share lock of its fence, and an expulsion waits for it. The
// server ends such a session after half a lease (its writes roll back), so
// the other nodes can take its partitions over. Our transactions never wait
// between statements: they run their statements back to back.
void bound_idle_transactions(int lease_seconds) {
  std::string options = getenv("PGOPTIONS") ? getenv("PGOPTIONS") : "";
  if (options.find("idle_in_transaction_session_timeout") != std::string::npos)
    return;
  options += " -c idle_in_transaction_session_timeout=" + std::to_string(lease_seconds * 500);
  setenv("PGOPTIONS", options.c_str(), 1);
}

// Every transaction of this process first proves it is still its node.
std::function<void(storage::pg_connection&)> fence_of(const storage::node_identity& me) {
  return [me](storage::pg_connection& c) { storage::fence(c, me); };
}

// Tells this run's ETags and event ids from an earlier run's.
std::string boot_tag() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

} // namespace

struct runtime::impl {
  settings cfg;
  storage::node_identity me;
  std::shared_ptr<cluster_map> map;
  bool clustered = false;
  // Declared before the actor system so they are destroyed after it.
  std::unique_ptr<storage::db_pool> pool;
  // The dispatcher's own connection: delivery bookkeeping (scans, retries,
  // pruning) never queues behind or ahead of booking writes.
  std::unique_ptr<storage::db_pool> outbox_pool;
  std::unique_ptr<http::server> server;
  std::unique_ptr<http::server> admin_server;
  std::unique_ptr<http::platform_client> platform;
  std::unique_ptr<caf::actor_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<http::access_policy> access;
  std::vector<caf::actor> top_level;
  // Guards top_level and the coordinator's duties: the lease actor's thread
  // takes them up while the main thread may be stopping.
  std::mutex duties_mutex;
  bool coordinating = false;
  caf::actor node;
  bool stopped = false;

  // The waiting room and the dispatcher run on the owner of partition 0.
  // Taken up once, at start-up or when partition 0 comes to this node; a
  // node never gives it back while it runs (it stops when expelled).
  void take_coordinator_duties(db_actor db, booking_config booking,
                               std::shared_ptr<active_tokens> passes,
                               wallet_registry_actor wallets);
};

void runtime::impl::take_coordinator_duties(db_actor db, booking_config booking,
                                            std::shared_ptr<active_tokens> passes,
                                            wallet_registry_actor wallets) {
  std::lock_guard lock{duties_mutex};
  if (coordinating || stopped)
    return;
  coordinating = true;
  auto& sys = *system;
  node_handles h;
  h.node_id = me.node_id;
  h.wallets = wallets;
  h.waiting_room = sys.spawn(waiting_room_actor_impl, db, booking, std::move(passes));
  top_level.push_back(caf::actor_cast<caf::actor>(h.waiting_room));
  if (!cfg.dataplatform.url.empty()) {
    outbox_pool = std::make_unique<storage::db_pool>(cfg.database.url, 1, cfg.database.max_batch);
    outbox_pool->set_fence(fence_of(me));
    auto outbox_db = sys.spawn(db_actor_impl, outbox_pool.get());
    platform = std::make_unique<http::platform_client>(
      cfg.dataplatform.url, std::chrono::milliseconds(cfg.dataplatform.timeout_ms),
      cfg.dataplatform.max_in_flight);
    h.dispatcher =
      sys.spawn(dispatcher_actor_impl, outbox_in_database(outbox_db), make_dispatcher_config(cfg),
                make_transport(*platform, cfg.dataplatform.secret));
    top_level.push_back(caf::actor_cast<caf::actor>(h.dispatcher));
    top_level.push_back(caf::actor_cast<caf::actor>(outbox_db));
    spdlog::info("delivering events to {}", cfg.dataplatform.url);
  } else {
    spdlog::warn("dataplatform.url is empty: events stay in the outbox");
  }
  if (clustered)
    spdlog::info("node '{}' owns partition 0: it runs the waiting room and the dispatcher",
                 me.node_id);
  map->set_local(std::move(h));
}

runtime::runtime(const settings& cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = cfg;
  raise_open_file_limit(cfg.http.max_connections);
  impl_->access = make_access_policy(cfg);
  // A database that does not answer must fail start-up, not hang it.
  setenv("PGCONNECT_TIMEOUT", "5", 0);
  // No statement may hold a storage thread (and so shutdown) for long; set in
  // the environment so reconnects keep it.
  setenv("PGOPTIONS", "-c statement_timeout=15000", 0);
  bound_idle_transactions(cfg.cluster.lease_seconds);
  prepare_database(cfg);
  impl_->clustered = cfg.cluster.port != 0;
  impl_->me = {cfg.cluster.node_id, boot_tag() + boot_tag(),
               "http://" + cfg.http.host + ":" + std::to_string(cfg.http.port),
               impl_->clustered ? cfg.cluster.host + ":" + std::to_string(cfg.cluster.port) : ""};
  impl_->map = std::make_shared<cluster_map>(cfg.cluster.node_id, cfg.cluster.partitions);
  auto joined = join_cluster(cfg, impl_->me);
  impl_->map->set_owners(joined.owners, joined.lease_left_ms);
  impl_->pool = std::make_unique<storage::db_pool>(cfg.database.url, cfg.database.pool_size,
                                                   cfg.database.max_batch);
  impl_->pool->set_fence(fence_of(impl_->me));
  impl_->caf_cfg = make_caf_config(cfg);
  impl_->system = std::make_unique<caf::actor_system>(*impl_->caf_cfg);
}

runtime::~runtime() {
  stop();
}

void runtime::start() {
  auto& sys = *impl_->system;
  auto& cfg = impl_->cfg;
  booking_config booking{cfg.hold.ttl_seconds,         cfg.hold.max_per_user,
                         cfg.queue.admit_per_second,   cfg.queue.max_active,
                         cfg.queue.active_ttl_seconds, cfg.actors.idle_seconds};
  booking.payment_answer = http::payment_answer;
  booking.poll_grace_seconds = cfg.queue.poll_grace_seconds;
  booking.cluster = impl_->map;
  // The inspector first: every actor registers with it as it starts.
  auto inspector = sys.spawn(inspector_actor_impl);
  sys.registry().put(inspector_name, caf::actor_cast<caf::strong_actor_ptr>(inspector));
  auto metrics = std::make_shared<http::http_metrics>();
  auto db = sys.spawn(db_actor_impl, impl_->pool.get());
  // The registry and the catalogue need each other: the registry learns the
  // catalogue by a message right after both exist.
  auto reservations = sys.spawn(reservation_registry_actor_impl, db, catalogue_actor{}, booking);
  auto schedules = std::make_shared<schedule_directory>();
  auto passes = std::make_shared<active_tokens>();
  auto catalogue =
    sys.spawn(catalogue_actor_impl, seat_context{db, reservations, booking, schedules});
  caf::anon_send(reservations, caf::put_atom_v, caf::actor_cast<caf::actor>(catalogue));
  auto local_wallets = sys.spawn(wallet_registry_actor_impl, db, booking);
  impl_->map->set_local({impl_->me.node_id, local_wallets, {}, {}});
  if (impl_->map->coordinating())
    impl_->take_coordinator_duties(db, booking, passes, local_wallets);
  // Alone, a node talks to its own waiting room, dispatcher and wallets; in
  // a cluster, routers find whichever node serves them now.
  auto waiting_room = impl_->map->local().waiting_room;
  auto dispatcher = impl_->map->local().dispatcher;
  auto wallets = local_wallets;
  if (impl_->clustered) {
    waiting_room = sys.spawn(waiting_room_router_impl, impl_->map);
    dispatcher = sys.spawn(dispatcher_router_impl, impl_->map);
    wallets = sys.spawn(wallet_router_impl, local_wallets, impl_->map);
    impl_->top_level.insert(impl_->top_level.end(), {caf::actor_cast<caf::actor>(dispatcher),
                                                     caf::actor_cast<caf::actor>(local_wallets)});
  }
  if (dispatcher)
    caf::anon_send(db, dispatcher);
  // Without the tokens table and the directory every payment runs the saga.
  saga_context saga_ctx{db, catalogue, reservations, wallets, http::payment_answer};
  if (cfg.payments.one_commit) {
    saga_ctx.passes = passes;
    saga_ctx.schedules = schedules;
  }
  saga_ctx.cluster = impl_->map;
  auto sagas = sys.spawn(saga_manager_actor_impl, saga_ctx, waiting_room);
  auto bridge_restarts = std::make_shared<std::atomic<uint64_t>>(0);
  auto boot = boot_tag();
  auto seat_maps = std::make_shared<http::seat_map_cache>(
    std::chrono::milliseconds(cfg.http.seat_map_refresh_ms), boot);
  auto streams = std::make_shared<http::seat_streams>(seat_maps, schedules, boot,
                                                      static_cast<size_t>(cfg.http.max_streams));
  http::api_services services{db,
                              catalogue,
                              waiting_room,
                              reservations,
                              wallets,
                              sagas,
                              cfg.points.min_charge,
                              cfg.points.max_charge,
                              metrics,
                              bridge_restarts,
                              schedules,
                              passes,
                              seat_maps,
                              streams,
                              impl_->access,
                              impl_->clustered ? impl_->map : nullptr};
  // Only the supervisors go in top_level: each stops its bridge, and a bridge
  // stopped behind its back would be respawned.
  std::vector<std::shared_ptr<http::bridge_slot>> api_slots;
  for (int i = 0; i < cfg.http.api_workers; ++i) {
    api_slots.push_back(std::make_shared<http::bridge_slot>());
    impl_->top_level.push_back(http::spawn_bridge_supervisor(
      sys, "api " + std::to_string(i + 1),
      [services](caf::actor_system& s) {
        return caf::actor_cast<caf::actor>(s.spawn(http::api_actor_impl, services));
      },
      api_slots.back(), bridge_restarts));
  }
  impl_->top_level.insert(
    impl_->top_level.end(),
    {caf::actor_cast<caf::actor>(sagas), caf::actor_cast<caf::actor>(waiting_room),
     caf::actor_cast<caf::actor>(wallets), caf::actor_cast<caf::actor>(catalogue),
     caf::actor_cast<caf::actor>(reservations), caf::actor_cast<caf::actor>(db)});
  impl_->top_level.push_back(caf::actor_cast<caf::actor>(inspector));
  auto handler = answer_or_forward(services, std::move(api_slots));
  impl_->server =
    std::make_unique<http::server>(cfg.http.host, cfg.http.port, public_limits(cfg), handler);
  impl_->me.api_url = "http://" + cfg.http.host + ":" + std::to_string(impl_->server->port());
  if (impl_->clustered) {
    // The other nodes' front doors forward this node's requests here.
    auto node = sys.spawn(http::node_actor_impl, impl_->map, handler);
    impl_->node = caf::actor_cast<caf::actor>(node);
    auto port = sys.middleman().publish(node, static_cast<uint16_t>(cfg.cluster.port),
                                        cfg.cluster.host.c_str(), true);
    if (!port)
      throw std::runtime_error("cannot open the middleman on " + impl_->me.cluster_address + ": " +
                               sys.render(port.error()));
    spdlog::info("node '{}' reachable by the other nodes at {}", impl_->me.node_id,
                 impl_->me.cluster_address);
  }
  lease_duties duties{impl_->me, lease_terms_of(cfg), impl_->map,
                      // Another process became this node, or the others
                      // expelled it: stop as if told to.
                      [] { kill(getpid(), SIGTERM); },
                      [impl = impl_.get(), db, booking, passes, local_wallets] {
                        if (impl->map->coordinating())
                          impl->take_coordinator_duties(db, booking, passes, local_wallets);
                      }};
  auto leases = sys.spawn<caf::detached>(
    lease_actor_impl, std::make_shared<storage::pg_connection>(cfg.database.url), duties);
  impl_->top_level.push_back(caf::actor_cast<caf::actor>(leases));
  impl_->server->every(http::stream_tick_period, [streams] { streams->tick(); });
  impl_->server->every(http::stream_keep_alive_period, [streams] { streams->keep_alive(); });
  if (cfg.admin.port != 0 && !cfg.admin.key.empty()) {
    // The sampler runs only with the listener that shows it. It is stopped
    // explicitly (top_level): its pending tick would otherwise keep it alive.
    auto trends =
      sys.spawn(http::trend_recorder_impl, http::trend_sources{inspector, waiting_room, dispatcher,
                                                               metrics, impl_->server.get()});
    impl_->top_level.push_back(caf::actor_cast<caf::actor>(trends));
    http::admin_services admin_svc{cfg.admin.key,
                                   db,
                                   inspector,
                                   dispatcher,
                                   waiting_room,
                                   metrics,
                                   impl_->server.get(),
                                   trends,
                                   read_chart_library(cfg.admin.chart_js),
                                   leases,
                                   impl_->access};
    auto admin_slot = std::make_shared<http::bridge_slot>();
    auto admin_supervisor = http::spawn_bridge_supervisor(
      sys, "admin",
      [admin_svc](caf::actor_system& s) {
        return caf::actor_cast<caf::actor>(s.spawn(http::admin_actor_impl, admin_svc));
      },
      admin_slot, bridge_restarts);
    impl_->top_level.push_back(admin_supervisor);
    impl_->admin_server = std::make_unique<http::server>(cfg.admin.host, cfg.admin.port,
                                                         admin_limits(cfg), forward_to(admin_slot));
    impl_->admin_server->start(1);
    spdlog::info("admin listening on http://{}:{}", cfg.admin.host, impl_->admin_server->port());
  } else {
    spdlog::info("admin listener disabled (set admin.port and admin.key)");
  }
  // The public listener opens last: once it answers (scripts and tests wait
  // for /health), the admin listener is up too.
  impl_->server->start(cfg.http.threads);
  spdlog::info("boxoffice listening on http://{}:{}", cfg.http.host, impl_->server->port());
}

void runtime::stop() {
  std::vector<caf::actor> top_level;
  {
    std::lock_guard lock{impl_->duties_mutex};
    if (impl_->stopped)
      return;
    impl_->stopped = true;
    top_level.swap(impl_->top_level);
  }
  // HTTP first: no new work arrives while the actors wind down.
  if (impl_->server)
    impl_->server->stop();
  if (impl_->admin_server)
    impl_->admin_server->stop();
  for (auto& a : top_level)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  top_level.clear();
  if (impl_->node) {
    impl_->system->middleman().unpublish(impl_->node);
    caf::anon_send_exit(impl_->node, caf::exit_reason::user_shutdown);
    impl_->node = nullptr;
  }
  if (impl_->system) {
    impl_->system->registry().erase(inspector_name);
    impl_->system->await_all_actors_done();
  }
  // Nothing of this process writes any more: its leases are free at once.
  try {
    storage::pg_connection conn{impl_->cfg.database.url};
    storage::leave_cluster(conn, impl_->me);
  } catch (const std::exception& e) {
    spdlog::warn("could not release the leases of node '{}': {}", impl_->me.node_id, e.what());
  }
  if (impl_->platform)
    impl_->platform->stop();
  if (impl_->pool)
    impl_->pool->stop();
  if (impl_->outbox_pool)
    impl_->outbox_pool->stop();
}

} // namespace boxoffice
