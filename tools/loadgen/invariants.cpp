#include "tools/loadgen/invariants.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

#include <libpq-fe.h>

namespace boxoffice::loadgen {

namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

constexpr int kDetailRows = 20;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct PgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Conn connect(const std::string& conninfo, std::string& error) {
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "10", "boxoffice-loadgen", nullptr};
  Conn c(PQconnectdbParams(keys, values, 1));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) {
    error = c ? PQerrorMessage(c.get()) : "out of memory";
    while (!error.empty() && std::isspace(static_cast<unsigned char>(error.back())))
      error.pop_back();
    return nullptr;
  }
  return c;
}

Result exec(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const auto& p : params)
    values.push_back(p.c_str());
  Result r(PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0));
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && std::isspace(static_cast<unsigned char>(msg.back())))
      msg.pop_back();
    throw PgError(msg);
  }
  return r;
}

std::string value(const Result& r, int row, int col) {
  if (PQgetisnull(r.get(), row, col))
    return "NULL";
  return PQgetvalue(r.get(), row, col);
}

std::int64_t scalar(PGconn* c, const std::string& sql,
                    const std::vector<std::string>& params = {}) {
  const auto r = exec(c, sql, params);
  if (PQntuples(r.get()) < 1 || PQgetisnull(r.get(), 0, 0))
    return 0;
  return std::stoll(PQgetvalue(r.get(), 0, 0));
}

std::string row_text(const Result& r, int row) {
  std::string s;
  for (int col = 0; col < PQnfields(r.get()); ++col) {
    if (!s.empty())
      s += ' ';
    s += std::string(PQfname(r.get(), col)) + "=" + value(r, row, col);
  }
  return s;
}

/// Passes when `sql` returns no rows; otherwise lists the first of them.
CheckResult rows_check(PGconn* c, std::string name, std::string description, const std::string& sql,
                       const std::vector<std::string>& params = {}) {
  CheckResult res{std::move(name), std::move(description)};
  try {
    res.offending = scalar(c, "SELECT count(*) FROM (" + sql + ") AS offending", params);
    res.pass = res.offending == 0;
    if (!res.pass) {
      const auto rows = exec(
        c, "SELECT * FROM (" + sql + ") AS offending LIMIT " + std::to_string(kDetailRows), params);
      for (int i = 0; i < PQntuples(rows.get()); ++i)
        res.details.push_back(row_text(rows, i));
    }
  } catch (const PgError& e) {
    res.pass = false;
    res.details.push_back(std::string("query failed: ") + e.what());
  }
  return res;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

std::string describe(const Response& r) {
  return r.status == 0 ? r.error : "HTTP " + std::to_string(r.status);
}

/// orderViolations wherever the simulator reports it: top level or one level down.
std::optional<std::int64_t> find_order_violations(const json& j) {
  if (!j.is_object())
    return std::nullopt;
  if (auto it = j.find("orderViolations"); it != j.end() && it->is_number())
    return it->get<std::int64_t>();
  for (const auto& [k, v] : j.items()) {
    if (!v.is_object())
      continue;
    if (auto it = v.find("orderViolations"); it != v.end() && it->is_number())
      return it->get<std::int64_t>();
  }
  return std::nullopt;
}

// --- the checks -----------------------------------------------------------

void seat_checks(PGconn* c, CheckReport& rep) {
  rep.checks.push_back(rows_check(
    c, "seat_single_live_reservation", "no seat has two live (HELD/PAYING/CONFIRMED) reservations",
    "SELECT schedule_id, seat_number, count(*) AS live,"
    " string_agg(id::text || ':' || status, ',' ORDER BY id) AS reservations"
    " FROM reservations WHERE status IN ('HELD', 'PAYING', 'CONFIRMED')"
    " GROUP BY schedule_id, seat_number HAVING count(*) > 1"));
  rep.checks.push_back(rows_check(
    c, "seat_single_completed_payment", "no seat is paid for by two COMPLETED payments",
    "SELECT r.schedule_id, r.seat_number, count(*) AS completed_payments,"
    " string_agg(p.id::text, ',' ORDER BY p.id) AS payment_ids"
    " FROM payments p JOIN reservations r ON r.id = p.reservation_id"
    " WHERE p.status = 'COMPLETED' GROUP BY r.schedule_id, r.seat_number HAVING count(*) > 1"));
  rep.checks.push_back(rows_check(
    c, "confirmed_within_capacity", "per schedule, CONFIRMED reservations <= seats",
    "SELECT r.schedule_id, count(*) AS confirmed,"
    " (SELECT count(*) FROM seats s WHERE s.schedule_id = r.schedule_id) AS seats"
    " FROM reservations r WHERE r.status = 'CONFIRMED' GROUP BY r.schedule_id"
    " HAVING count(*) > (SELECT count(*) FROM seats s WHERE s.schedule_id = r.schedule_id)"));
  rep.checks.push_back(rows_check(
    c, "holds_expire", "no HELD reservation is more than 10 s past its expires_at",
    "SELECT id, user_id, schedule_id, seat_number, expires_at, now() - expires_at AS overdue"
    " FROM reservations WHERE status = 'HELD' AND expires_at < now() - interval '10 seconds'"));
}

void money_checks(PGconn* c, CheckReport& rep) {
  rep.checks.push_back(rows_check(
    c, "wallet_balance_matches_ledger",
    "every wallet's balance = sum(wallet_ledger.amount) and balance >= 0",
    "SELECT w.user_id, w.balance, COALESCE(l.total, 0) AS ledger_sum FROM wallets w"
    " LEFT JOIN (SELECT user_id, sum(amount) AS total FROM wallet_ledger GROUP BY user_id) l"
    "   ON l.user_id = w.user_id"
    " WHERE w.balance <> COALESCE(l.total, 0) OR w.balance < 0"));
  rep.checks.push_back(rows_check(
    c, "ledger_entries_consistent",
    "ledger signs (CHARGE/REFUND > 0, PAYMENT < 0) and each entry's balance = running sum by id",
    "SELECT id, user_id, kind, amount, balance, running FROM ("
    "  SELECT id, user_id, kind, amount, balance,"
    "   sum(amount) OVER (PARTITION BY user_id ORDER BY id) AS running FROM wallet_ledger) x"
    " WHERE balance <> running OR balance < 0"
    "  OR (kind IN ('CHARGE', 'REFUND') AND amount <= 0) OR (kind = 'PAYMENT' AND amount >= 0)"));
  rep.checks.push_back(rows_check(
    c, "payment_debits_accounted",
    "every PAYMENT ledger row's saga has a payment (COMPLETED/REFUNDED) or a REFUND ledger row",
    "SELECT l.id AS ledger_id, l.user_id, l.saga_id, l.amount, s.state AS saga_state, s.step"
    " FROM wallet_ledger l LEFT JOIN sagas s ON s.id = l.saga_id"
    " WHERE l.kind = 'PAYMENT'"
    "  AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.saga_id = l.saga_id"
    "                  AND p.status IN ('COMPLETED', 'REFUNDED'))"
    "  AND NOT EXISTS (SELECT 1 FROM wallet_ledger r WHERE r.kind = 'REFUND' AND r.saga_id = "
    "l.saga_id)"));
  rep.checks.push_back(
    rows_check(c, "refunds_accounted",
               "every REFUND reverses its saga's debit exactly, or refunds a REFUNDED payment "
               "through a CANCELLATION saga",
               "SELECT r.id AS ledger_id, r.user_id, r.saga_id, r.amount, d.amount AS debit"
               " FROM wallet_ledger r"
               " LEFT JOIN wallet_ledger d ON d.saga_id = r.saga_id AND d.kind = 'PAYMENT'"
               " WHERE r.kind = 'REFUND' AND ("
               "  (d.id IS NOT NULL AND d.amount <> -r.amount) OR"
               "  (d.id IS NULL AND NOT EXISTS ("
               "     SELECT 1 FROM sagas s JOIN payments p ON p.reservation_id = s.reservation_id"
               "     WHERE s.id = r.saga_id AND s.kind = 'CANCELLATION'"
               "       AND p.status = 'REFUNDED' AND p.amount = r.amount)))"));
  rep.checks.push_back(
    rows_check(c, "refunded_payments_refunded", "every REFUNDED payment has a REFUND ledger row",
               "SELECT p.id AS payment_id, p.reservation_id, p.user_id, p.amount FROM payments p"
               " WHERE p.status = 'REFUNDED' AND NOT EXISTS ("
               "  SELECT 1 FROM wallet_ledger l WHERE l.kind = 'REFUND' AND l.user_id = p.user_id"
               "   AND (l.saga_id = p.saga_id OR l.saga_id IN (SELECT s.id FROM sagas s"
               "        WHERE s.kind = 'CANCELLATION' AND s.reservation_id = p.reservation_id)))"));
  rep.checks.push_back(
    rows_check(c, "confirmed_has_one_completed_payment",
               "every CONFIRMED reservation has exactly one COMPLETED payment",
               "SELECT r.id AS reservation_id, r.user_id, r.schedule_id, r.seat_number,"
               " count(p.id) AS completed_payments"
               " FROM reservations r"
               " LEFT JOIN payments p ON p.reservation_id = r.id AND p.status = 'COMPLETED'"
               " WHERE r.status = 'CONFIRMED' GROUP BY r.id HAVING count(p.id) <> 1"));
  rep.checks.push_back(rows_check(
    c, "completed_payment_consistent",
    "every COMPLETED payment: its reservation is CONFIRMED and the user's, its saga debited "
    "exactly its amount and refunded nothing",
    "SELECT p.id AS payment_id, p.reservation_id, p.user_id, p.amount,"
    " r.status AS reservation_status, r.user_id AS reservation_user, d.amount AS debit"
    " FROM payments p JOIN reservations r ON r.id = p.reservation_id"
    " LEFT JOIN wallet_ledger d ON d.saga_id = p.saga_id AND d.kind = 'PAYMENT'"
    " WHERE p.status = 'COMPLETED' AND (r.status <> 'CONFIRMED' OR r.user_id <> p.user_id"
    "  OR d.id IS NULL OR d.amount <> -p.amount OR d.user_id <> p.user_id"
    "  OR EXISTS (SELECT 1 FROM wallet_ledger x WHERE x.saga_id = p.saga_id AND x.kind = "
    "'REFUND'))"));
}

void saga_and_ack_checks(PGconn* c, const CheckInput& in, CheckReport& rep) {
  rep.checks.push_back(
    rows_check(c, "sagas_finished", "no saga is still RUNNING or COMPENSATING after the drain wait",
               "SELECT id, kind, reservation_id, state, step, error, updated_at FROM sagas"
               " WHERE state IN ('RUNNING', 'COMPENSATING') ORDER BY id"));
  std::string ids = "{";
  for (std::size_t i = 0; i < in.booked_reservations.size(); ++i) {
    if (i)
      ids += ',';
    ids += std::to_string(in.booked_reservations[i]);
  }
  ids += '}';
  rep.checks.push_back(rows_check(
    c, "acknowledged_bookings_durable",
    "every booking the server answered 201 is CONFIRMED with a COMPLETED payment",
    "SELECT x.id AS reservation_id, r.status, r.user_id FROM unnest($1::bigint[]) AS x(id)"
    " LEFT JOIN reservations r ON r.id = x.id"
    " WHERE r.id IS NULL OR r.status <> 'CONFIRMED' OR NOT EXISTS ("
    "  SELECT 1 FROM payments p WHERE p.reservation_id = x.id AND p.status = 'COMPLETED')",
    {ids}));
}

void delivery_checks(PGconn* c, const CheckInput& in, bool drained, std::int64_t pending,
                     CheckReport& rep, std::ostream& log) {
  CheckResult d{"outbox_drained", "outbox has no PENDING rows within --drain-timeout"};
  d.pass = drained;
  d.offending = pending;
  if (!drained) {
    const auto r =
      exec(c, "SELECT id, event_type, aggregate_type, aggregate_id, sequence, attempts,"
              " next_attempt_at, last_error FROM outbox WHERE status = 'PENDING'"
              " ORDER BY id LIMIT " +
                std::to_string(kDetailRows));
    for (int i = 0; i < PQntuples(r.get()); ++i)
      d.details.push_back(row_text(r, i));
  }
  rep.checks.push_back(std::move(d));

  rep.checks.push_back(rows_check(c, "outbox_no_dead", "no outbox row is DEAD",
                                  "SELECT id, event_id, event_type, aggregate_type, aggregate_id, "
                                  "sequence, attempts, last_error"
                                  " FROM outbox WHERE status = 'DEAD' ORDER BY id"));

  // Every event committed since the run started must be at the simulator.
  CheckResult delivered{"events_delivered",
                        "every non-DEAD outbox event since the run started is in the simulator's "
                        "GET /events"};
  CheckResult order{"event_order", "the simulator reports 0 orderViolations"};
  const auto& url = *in.dpsim;
  const auto resp = http_call(url, http::verb::get, url.path + "/events");
  json events_doc = json::parse(resp.body, nullptr, false);
  if (resp.status != 200 || events_doc.is_discarded() || !events_doc.is_object() ||
      !events_doc.contains("events") || !events_doc["events"].is_array()) {
    delivered.pass = false;
    delivered.details.push_back("GET " + url.path + "/events -> " + describe(resp) +
                                (resp.status == 200 ? " (no \"events\" array)" : ""));
  } else {
    std::set<std::string> seen;
    for (const auto& e : events_doc["events"])
      if (e.is_object() && e.contains("eventId") && e["eventId"].is_string())
        seen.insert(lower(e["eventId"].get<std::string>()));
    rep.facts["simulatorEvents"] = seen.size();
    char since[32];
    std::snprintf(since, sizeof since, "%.3f", in.run_start_unix - 5.0);
    const auto r =
      exec(c,
           "SELECT event_id::text, id, event_type, aggregate_type, aggregate_id, sequence,"
           " status FROM outbox WHERE status <> 'DEAD'"
           " AND occurred_at >= to_timestamp($1::double precision) ORDER BY id",
           {since});
    const int n = PQntuples(r.get());
    rep.facts["outboxEventsSinceStart"] = n;
    for (int i = 0; i < n; ++i) {
      if (seen.count(lower(PQgetvalue(r.get(), i, 0))))
        continue;
      ++delivered.offending;
      if (delivered.details.size() < kDetailRows)
        delivered.details.push_back(row_text(r, i));
    }
    delivered.pass = delivered.offending == 0;
  }
  rep.checks.push_back(std::move(delivered));

  auto violations = find_order_violations(events_doc);
  if (!violations) {
    const auto stats = http_call(url, http::verb::get, url.path + "/stats");
    const auto doc = json::parse(stats.body, nullptr, false);
    if (stats.status == 200)
      violations = find_order_violations(doc);
  }
  if (!violations) {
    order.pass = false;
    order.details.push_back("the simulator reported no orderViolations (looked in GET /events and "
                            "GET /stats)");
  } else {
    order.offending = *violations;
    order.pass = *violations == 0;
    if (!order.pass)
      order.details.push_back("orderViolations=" + std::to_string(*violations));
  }
  rep.checks.push_back(std::move(order));
  (void)log;
}

void facts(PGconn* c, const CheckInput& in, CheckReport& rep) {
  const auto sid = std::to_string(in.schedule_id);
  auto& f = rep.facts;
  f["scheduleId"] = in.schedule_id;
  f["scheduleSeats"] = scalar(c, "SELECT count(*) FROM seats WHERE schedule_id = $1", {sid});
  f["soldSeats"] = scalar(
    c, "SELECT count(*) FROM reservations WHERE schedule_id = $1 AND status = 'CONFIRMED'", {sid});
  f["heldSeats"] = scalar(
    c, "SELECT count(*) FROM reservations WHERE schedule_id = $1 AND status IN ('HELD', 'PAYING')",
    {sid});
  const auto lo = std::to_string(in.user_first), hi = std::to_string(in.user_last);
  const auto r = exec(c,
                      "SELECT COALESCE(sum(amount) FILTER (WHERE kind = 'CHARGE'), 0),"
                      " COALESCE(-sum(amount) FILTER (WHERE kind = 'PAYMENT'), 0),"
                      " COALESCE(sum(amount) FILTER (WHERE kind = 'REFUND'), 0)"
                      " FROM wallet_ledger WHERE user_id BETWEEN $1 AND $2",
                      {lo, hi});
  const auto in_pts = std::stoll(PQgetvalue(r.get(), 0, 0));
  const auto spent = std::stoll(PQgetvalue(r.get(), 0, 1));
  const auto refunded = std::stoll(PQgetvalue(r.get(), 0, 2));
  const auto balance = scalar(
    c, "SELECT COALESCE(sum(balance), 0) FROM wallets WHERE user_id BETWEEN $1 AND $2", {lo, hi});
  f["runUsers"] = {{"first", in.user_first}, {"last", in.user_last}};
  f["pointsIn"] = in_pts;
  f["pointsSpent"] = spent;
  f["pointsRefunded"] = refunded;
  f["pointsBalance"] = balance;
  f["runUsersBookings"] = scalar(
    c, "SELECT count(*) FROM payments WHERE status = 'COMPLETED' AND user_id BETWEEN $1 AND $2",
    {lo, hi});
  nlohmann::ordered_json sagas = nlohmann::ordered_json::object();
  const auto s = exec(c, "SELECT state, count(*) FROM sagas GROUP BY state ORDER BY state");
  for (int i = 0; i < PQntuples(s.get()); ++i)
    sagas[PQgetvalue(s.get(), i, 0)] = std::stoll(PQgetvalue(s.get(), i, 1));
  f["sagasByState"] = sagas;
  nlohmann::ordered_json outbox = nlohmann::ordered_json::object();
  const auto o = exec(c, "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status");
  for (int i = 0; i < PQntuples(o.get()); ++i)
    outbox[PQgetvalue(o.get(), i, 0)] = std::stoll(PQgetvalue(o.get(), i, 1));
  f["outboxByStatus"] = outbox;

  CheckResult points{"run_points_conserved",
                     "for the run's users: points in - spent + refunded = their balances"};
  points.pass = in_pts - spent + refunded == balance;
  if (!points.pass)
    points.details.push_back("in=" + std::to_string(in_pts) + " spent=" + std::to_string(spent) +
                             " refunded=" + std::to_string(refunded) +
                             " balances=" + std::to_string(balance));
  rep.checks.push_back(std::move(points));
}

} // namespace

bool CheckReport::all_pass() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.pass; });
}

std::optional<std::int64_t> next_free_user_id(const std::string& conninfo) {
  std::string error;
  auto c = connect(conninfo, error);
  if (!c)
    return std::nullopt;
  try {
    return scalar(c.get(), "SELECT GREATEST((SELECT COALESCE(max(user_id), 0) FROM wallets),"
                           " (SELECT COALESCE(max(user_id), 0) FROM queue_tokens),"
                           " (SELECT COALESCE(max(user_id), 0) FROM reservations)) + 1");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

CheckReport run_checks(const CheckInput& in, std::ostream& log) {
  CheckReport rep;
  rep.facts = nlohmann::ordered_json::object();
  std::string error;
  auto conn = connect(in.conninfo, error);
  if (!conn) {
    rep.checks.push_back({"database", "connect to --db", false, 1, {error}});
    return rep;
  }
  PGconn* c = conn.get();
  try {
    // Wait for in-flight sagas and (with a simulator) the outbox backlog.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(in.drain_timeout));
    std::int64_t running = 0, pending = 0;
    bool drained = false;
    for (int round = 0;; ++round) {
      running = scalar(c, "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')");
      pending = in.dpsim ? scalar(c, "SELECT count(*) FROM outbox WHERE status = 'PENDING'") : 0;
      drained = pending == 0;
      if ((running == 0 && drained) || std::chrono::steady_clock::now() >= deadline)
        break;
      if (round % 5 == 0)
        log << "waiting for the drain: " << running << " sagas running, " << pending
            << " outbox rows pending\n";
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    seat_checks(c, rep);
    money_checks(c, rep);
    saga_and_ack_checks(c, in, rep);
    facts(c, in, rep);
    if (in.dpsim)
      delivery_checks(c, in, drained, pending, rep, log);
  } catch (const std::exception& e) {
    rep.checks.push_back({"database", "run the check queries", false, 1, {e.what()}});
  }
  return rep;
}

void print_report(std::ostream& out, const CheckReport& report) {
  for (const auto& c : report.checks) {
    out << (c.pass ? "PASS " : "FAIL ") << c.name << ": " << c.description;
    if (!c.pass && c.offending > 0)
      out << " (" << c.offending << " offending)";
    out << "\n";
    for (const auto& d : c.details)
      out << "       " << d << "\n";
  }
}

} // namespace boxoffice::loadgen
