// The SQLite store's read path: duplicate checks, replay, alerts and their
// lifecycle, a person's history, counts.  See sqlite_store_impl.h.
#include <boost/json.hpp>

#include <algorithm>
#include <limits>
#include <string>

#include "daemon/sqlite_store_impl.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

constexpr char kAlertColumns[] =
    "seq, alert_id, payload, severity, kind, instrument_id, raised_ms, acked_at, acked_by, "
    "resolved_at, resolved_by, outcome, note, escalation_level, next_escalation_ms";

AlertState ReadAlert(Stmt& st) {
  AlertState a;
  a.seq = st.Int(0);
  a.alert_id = st.Text(1);
  a.payload = st.Text(2);
  a.severity = st.Text(3);
  a.kind = st.Text(4);
  a.instrument_id = st.Text(5);
  a.raised_at = TimePoint(Millis(st.Int(6)));
  if (!st.IsNull(7)) a.acked_at = ParseRfc3339(st.Text(7));
  a.acked_by = st.Text(8);
  if (!st.IsNull(9)) a.resolved_at = ParseRfc3339(st.Text(9));
  a.resolved_by = st.Text(10);
  a.outcome = st.Text(11);
  a.note = st.Text(12);
  a.escalation_level = static_cast<int>(st.Int(13));
  if (!st.IsNull(14)) a.next_escalation_at = TimePoint(Millis(st.Int(14)));
  return a;
}

}  // namespace

Result<std::optional<std::string>> SqliteStore::HandledPayload(const std::string& source,
                                                               const std::string& msg_id) {
  static constexpr char kSql[] =
      "SELECT payload FROM inbound WHERE source=?1 AND msg_id=?2 AND result='handled'";
  Stmt st(db_.Cached(kSql));
  if (!st.ok()) return db_.Error("preparing duplicate check");
  st.Bind(1, source).Bind(2, msg_id);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(st.Text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db_.Error("duplicate check");
}

Result<std::optional<std::string>> SqliteStore::InstrumentRaw(const std::string& instrument_id,
                                                              int64_t version) {
  static constexpr char kSql[] =
      "SELECT body FROM instrument_versions WHERE instrument_id=?1 AND version=?2 AND "
      "body IS NOT NULL";
  Stmt st(db_.Cached(kSql));
  if (!st.ok()) return db_.Error("preparing instrument read");
  st.Bind(1, instrument_id).Bind(2, version);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(st.Text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db_.Error("instrument read");
}

Result<std::vector<std::tuple<std::string, std::string, int64_t>>> SqliteStore::LastSeqs() {
  std::vector<std::tuple<std::string, std::string, int64_t>> out;
  Stmt st(db_.handle(),
          "SELECT channel, source, MAX(seq) FROM inbound WHERE source IS NOT NULL AND seq IS NOT "
          "NULL GROUP BY channel, source");
  if (!st.ok()) return db_.Error("preparing last seqs");
  Status s = db_.ForEachRow(
      st, "last seqs", [&](Stmt& row) { out.emplace_back(row.Text(0), row.Text(1), row.Int(2)); });
  if (!s.ok()) return s;
  return out;
}

Status SqliteStore::ForEachHandled(int64_t after_row, const HandledRowFn& fn) {
  Stmt st(db_.handle(),
          "SELECT rowid_, channel, payload FROM inbound WHERE result='handled' AND rowid_ > ?1 "
          "ORDER BY rowid_");
  if (!st.ok()) return db_.Error("preparing replay");
  st.Bind(1, after_row);
  return db_.ForEachRow(st, "replay",
                        [&](Stmt& row) { fn(row.Int(0), row.Text(1), row.Text(2)); });
}

Status SqliteStore::ForEachHandledKey(const HandledKeyFn& fn) {
  // Read from the (source, msg_id) index of handled rows alone, not the table.
  Stmt st(db_.handle(), "SELECT source, msg_id FROM inbound WHERE result='handled'");
  if (!st.ok()) return db_.Error("preparing handled ids");
  return db_.ForEachRow(st, "handled ids", [&](Stmt& row) { fn(row.Text(0), row.Text(1)); });
}

Status SqliteStore::ForEachResolvedAlert(
    const std::function<void(const std::string&, const std::string&)>& fn) {
  Stmt st(db_.handle(),
          "SELECT payload, outcome FROM alerts WHERE resolved_at IS NOT NULL AND outcome IS NOT "
          "NULL ORDER BY seq");
  if (!st.ok()) return db_.Error("preparing resolved alerts");
  return db_.ForEachRow(st, "resolved alerts", [&](Stmt& row) { fn(row.Text(0), row.Text(1)); });
}

Result<int64_t> SqliteStore::MaxAlertSeq() {
  Stmt st(db_.handle(), "SELECT COALESCE(MAX(seq), 0) FROM alerts");
  if (!st.ok() || st.Step() != SQLITE_ROW) return db_.Error("reading last alert seq");
  return st.Int(0);
}

Result<std::vector<std::string>> SqliteStore::AlertsSince(int64_t after, int limit) {
  std::vector<std::string> out;
  Stmt st(db_.handle(), "SELECT payload FROM alerts WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!st.ok()) return db_.Error("preparing alerts query");
  st.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  Status s = db_.ForEachRow(st, "alerts query", [&](Stmt& row) { out.push_back(row.Text(0)); });
  if (!s.ok()) return s;
  return out;
}

Result<StoreCounts> SqliteStore::Counts() {
  StoreCounts c;
  Stmt st(db_.handle(),
          "SELECT (SELECT COUNT(*) FROM inbound WHERE result='handled'),"
          " (SELECT COUNT(*) FROM inbound WHERE result='rejected'),"
          " (SELECT COUNT(DISTINCT instrument_id) FROM instrument_versions),"
          " (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM audit_log)");
  if (!st.ok() || st.Step() != SQLITE_ROW) return db_.Error("counting");
  c.inbound_handled = st.Int(0);
  c.inbound_rejected = st.Int(1);
  c.instruments = st.Int(2);
  c.alerts = st.Int(3);
  c.audit = st.Int(4);
  return c;
}

Result<int64_t> SqliteStore::CountAlerts(const std::string& person_id,
                                         const std::vector<std::string>& kinds) {
  std::string sql = "SELECT COUNT(*) FROM alerts WHERE person_id=?1 AND kind IN (";
  for (size_t i = 0; i < kinds.size(); ++i) sql += (i ? ",?" : "?") + std::to_string(i + 2);
  sql += ")";
  if (kinds.empty()) return int64_t{0};
  Stmt st(db_.handle(), sql.c_str());
  if (!st.ok()) return db_.Error("preparing alert count");
  st.Bind(1, person_id);
  for (size_t i = 0; i < kinds.size(); ++i) st.Bind(static_cast<int>(i + 2), kinds[i]);
  if (st.Step() != SQLITE_ROW) return db_.Error("alert count");
  return st.Int(0);
}

Result<std::vector<AlertState>> SqliteStore::QueryAlerts(const std::string& where,
                                                         const std::function<void(Stmt&)>& bind) {
  std::string sql = std::string("SELECT ") + kAlertColumns + " FROM alerts " + where;
  Stmt st(db_.handle(), sql.c_str());
  if (!st.ok()) return db_.Error("preparing alert query");
  bind(st);
  std::vector<AlertState> out;
  Status s = db_.ForEachRow(st, "alert query", [&](Stmt& row) { out.push_back(ReadAlert(row)); });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<AlertState>> SqliteStore::GetAlert(const std::string& alert_id) {
  auto rows = QueryAlerts("WHERE alert_id = ?1", [&](Stmt& st) { st.Bind(1, alert_id); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AlertState>();
  return std::optional<AlertState>(std::move(rows->front()));
}

Result<std::vector<AlertState>> SqliteStore::DueEscalations(TimePoint now) {
  return QueryAlerts(
      "WHERE next_escalation_ms IS NOT NULL AND next_escalation_ms <= ?1 AND acked_at IS NULL "
      "AND outcome IS NULL ORDER BY next_escalation_ms, seq",
      [&](Stmt& st) { st.Bind(1, now.time_since_epoch().count()); });
}

Result<std::optional<TimePoint>> SqliteStore::NextEscalationDeadline() {
  Stmt st(db_.handle(),
          "SELECT MIN(next_escalation_ms) FROM alerts WHERE next_escalation_ms IS NOT NULL");
  if (!st.ok() || st.Step() != SQLITE_ROW) return db_.Error("reading next deadline");
  if (st.IsNull(0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(TimePoint(Millis(st.Int(0))));
}

Result<std::vector<AlertState>> SqliteStore::OpenAlerts(const std::string& recipient,
                                                        int64_t after_seq,
                                                        std::optional<TimePoint> raised_by,
                                                        int limit) {
  // The partial index alerts_open walks open alerts in seq order from the cursor.
  const int64_t raised_by_ms =
      raised_by ? raised_by->time_since_epoch().count() : std::numeric_limits<int64_t>::max();
  return QueryAlerts(
      std::string("WHERE outcome IS NULL AND severity != 'info' AND seq > ?2 AND raised_ms <= ?3") +
          (recipient.empty()
               ? ""
               : " AND seq IN (SELECT alert_seq FROM alert_recipients WHERE recipient = ?1)") +
          " ORDER BY seq LIMIT ?4",
      [&](Stmt& st) {
        if (!recipient.empty()) st.Bind(1, recipient);
        st.Bind(2, after_seq);
        st.Bind(3, raised_by_ms);
        st.Bind(4, static_cast<int64_t>(limit));
      });
}

Result<std::vector<HistoryRow>> SqliteStore::PersonHistory(const std::string& person_id) {
  std::vector<HistoryRow> out;
  // Runs one history query (?1 = the person), calling `fn` for each row.
  auto each_row = [&](const char* sql, const std::string& what, auto&& fn) -> Status {
    Stmt st(db_.handle(), sql);
    if (!st.ok()) return db_.Error("preparing " + what);
    st.Bind(1, person_id);
    return db_.ForEachRow(st, what.c_str(), fn);
  };
  Status s = each_row(
      "SELECT effective_ms, change, instrument_id, version, body, end_reason, recorded_at "
      "FROM instrument_versions WHERE instrument_id IN "
      "(SELECT instrument_id FROM instrument_versions WHERE subject = ?1) ORDER BY rowid_",
      "history (instruments)", [&](Stmt& st) {
        boost::json::object d;
        d["instrument_id"] = st.Text(2);
        d["version"] = st.Int(3);
        if (!st.IsNull(4)) {
          boost::json::error_code ec;
          auto v = boost::json::parse(st.Text(4), ec);
          if (!ec) d["instrument"] = std::move(v);
        }
        if (!st.IsNull(5)) d["reason"] = st.Text(5);
        d["recorded_at"] = st.Text(6);
        out.push_back(
            {TimePoint(Millis(st.Int(0))), "instrument " + st.Text(1), boost::json::serialize(d)});
      });
  if (!s.ok()) return s;
  s = each_row(
      "SELECT event_time, type, payload FROM inbound WHERE person_id = ?1 AND "
      "result = 'handled' AND type IN ('custody.arrested', 'custody.released') ORDER BY rowid_",
      "history (custody)", [&](Stmt& st) {
        auto t = ParseRfc3339(st.Text(0));
        out.push_back({t.value_or(TimePoint{}),
                       st.Text(1) == "custody.arrested" ? "arrest" : "release", st.Text(2)});
      });
  if (!s.ok()) return s;
  s = each_row(
      "SELECT event_time, kind, payload, acked_at, acked_by, resolved_at, resolved_by, "
      "outcome, note FROM alerts WHERE person_id = ?1 AND kind != 'check_result' "
      "ORDER BY seq",
      "history (alerts)", [&](Stmt& st) {
        boost::json::error_code ec;
        auto v = boost::json::parse(st.Text(2), ec);
        boost::json::object d = (!ec && v.is_object()) ? v.get_object() : boost::json::object{};
        boost::json::object state;
        if (!st.IsNull(3)) state["acked_at"] = st.Text(3), state["acked_by"] = st.Text(4);
        if (!st.IsNull(5)) {
          state["resolved_at"] = st.Text(5);
          state["resolved_by"] = st.Text(6);
          state["outcome"] = st.Text(7);
          if (!st.IsNull(8)) state["note"] = st.Text(8);
        }
        d["record"] = std::move(state);
        auto t = ParseRfc3339(st.Text(0));
        out.push_back({t.value_or(TimePoint{}), "alert " + st.Text(1), boost::json::serialize(d)});
      });
  if (!s.ok()) return s;
  std::stable_sort(out.begin(), out.end(),
                   [](const HistoryRow& a, const HistoryRow& b) { return a.time < b.time; });
  return out;
}
}  // namespace bw
