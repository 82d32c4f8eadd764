// The PostgreSQL store's write path (inbound, instruments, alerts and their lifecycle,
// retention) and read path (duplicates, replay, alerts, history, counts).  The statements are
// the SQLite store's (daemon/sqlite_store_write.cc, sqlite_store_read.cc) in PostgreSQL's
// dialect; the audit rows they write come from handlers/audit/audit_records.h.  See pg_store.h.
#include <limits>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "daemon/pg_store.h"
#include "handlers/audit/audit_records.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

constexpr char kAlertColumns[] =
    "seq, alert_id, payload, severity, kind, instrument_id, raised_ms, acked_at, acked_by, "
    "resolved_at, resolved_by, outcome, note, escalation_level, next_escalation_ms";

AlertState ReadAlert(const PgResult& r, int i) {
  AlertState a;
  a.seq = r.Int(i, 0);
  a.alert_id = r.Text(i, 1);
  a.payload = r.Text(i, 2);
  a.severity = r.Text(i, 3);
  a.kind = r.Text(i, 4);
  a.instrument_id = r.Text(i, 5);
  a.raised_at = TimePoint(Millis(r.Int(i, 6)));
  if (!r.IsNull(i, 7)) a.acked_at = ParseRfc3339(r.Text(i, 7));
  a.acked_by = r.Text(i, 8);
  if (!r.IsNull(i, 9)) a.resolved_at = ParseRfc3339(r.Text(i, 9));
  a.resolved_by = r.Text(i, 10);
  a.outcome = r.Text(i, 11);
  a.note = r.Text(i, 12);
  a.escalation_level = static_cast<int>(r.Int(i, 13));
  if (!r.IsNull(i, 14)) a.next_escalation_at = TimePoint(Millis(r.Int(i, 14)));
  return a;
}

int64_t Ms(TimePoint t) { return t.time_since_epoch().count(); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Write path.

Result<int64_t> PgStore::InsertInbound(const InboundRecord& r) {
  int64_t row = 0;
  Status s = InTransaction([&]() -> Status {
    // The row id is reserved ahead (pg_store.h): the journal and the collection record need it
    // before the commit that sends the row.
    auto id = NextInboundRow();
    if (!id.ok()) return id.status();
    row = *id;
    Status ins = Queue(
        "INSERT INTO inbound (rowid_, received_at, channel, topic, source, msg_id, seq, type, "
        "event_time, payload, result, reason, detail, person_id) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
        {PgInt(row), PgText(FormatRfc3339(r.received_at)), PgText(r.channel), PgText(r.topic),
         PgTextOrNull(r.source), PgTextOrNull(r.msg_id), r.seq > 0 ? PgInt(r.seq) : PgNull(),
         PgTextOrNull(r.type), r.event_time ? PgText(FormatRfc3339(*r.event_time)) : PgNull(),
         PgBytes(r.payload), PgText(r.result), PgTextOrNull(r.reason), PgTextOrNull(r.detail),
         PgTextOrNull(r.person_id)},
        "inbound insert");
    if (!ins.ok()) return ins;
    // No audit row here: the journal writes one `collection` record per committed batch.
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return row;
}

Status PgStore::InsertInstrumentChange(const InstrumentChange& c, const std::string& source,
                                       const std::string& id, TimePoint recorded_at) {
  return InTransaction([&]() -> Status {
    Status ins = Queue(
        "INSERT INTO instrument_versions (instrument_id, version, change, effective, "
        "effective_ms, recorded_at, subject, body, end_reason, caused_by_source, caused_by_id) "
        "VALUES ($1, (SELECT COALESCE(MAX(version),0)+1 FROM instrument_versions "
        "WHERE instrument_id=$1), $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {PgText(c.instrument_id), PgText(std::string(InstrumentChangeKindName(c.kind))),
         PgText(FormatRfc3339(c.effective)), PgInt(Ms(c.effective)),
         PgText(FormatRfc3339(recorded_at)),
         c.instrument ? PgText(c.instrument->subject) : PgNull(),
         c.instrument ? PgText(c.instrument_raw) : PgNull(), PgTextOrNull(c.end_reason),
         PgTextOrNull(source), PgTextOrNull(id)},
        "instrument insert");
    if (!ins.ok()) return ins;
    if (!IsAuditedAlteration(c)) return Status::Ok();
    const std::string subject = c.instrument ? c.instrument->subject : SubjectOf(c.instrument_id);
    return InsertAudit(AlterationAudit(c, subject, source, id, recorded_at));
  });
}

Status PgStore::InsertAlert(const Alert& a, std::optional<TimePoint> escalate_at) {
  return InTransaction([&]() -> Status {
    Status ins = Queue(
        "INSERT INTO alerts (seq, alert_id, kind, severity, person_id, instrument_id, "
        "raised_at, event_time, payload, raised_ms, next_escalation_ms) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        {PgInt(a.seq), PgText(a.alert_id), PgText(std::string(AlertKindName(a.kind))),
         PgText(std::string(SeverityName(a.severity))), PgTextOrNull(a.person_id),
         PgTextOrNull(a.instrument_id), PgText(FormatRfc3339(a.raised_at)),
         PgText(FormatRfc3339(a.event_time)), PgText(boost::json::serialize(AlertToJson(a))),
         PgInt(Ms(a.raised_at)), escalate_at ? PgInt(Ms(*escalate_at)) : PgNull()},
        "alert insert");
    if (!ins.ok()) return ins;
    for (const auto& recipient : a.recipients) {
      Status rs = Queue("INSERT INTO alert_recipients (alert_seq, recipient) VALUES ($1, $2)",
                        {PgInt(a.seq), PgText(recipient)}, "recipient insert");
      if (!rs.ok()) return rs;
    }
    if (const std::optional<AuditRecord> combination = CombinationAudit(a)) {
      if (Status s = InsertAudit(*combination); !s.ok()) return s;
    }
    return InsertAudit(DisclosureAudit(a));
  });
}

Status PgStore::AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) {
  return InTransaction([&]() -> Status {
    return Queue(
        "UPDATE alerts SET acked_at = COALESCE(acked_at, $2), acked_by = "
        "COALESCE(acked_by, $3), next_escalation_ms = NULL WHERE alert_id = $1",
        {PgText(alert_id), PgText(FormatRfc3339(at)), PgText(by)}, "ack");
  });
}

Status PgStore::ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                             const std::string& outcome, const std::string& note) {
  return InTransaction([&]() -> Status {
    return Queue(
        "UPDATE alerts SET acked_at = COALESCE(acked_at, $2), acked_by = "
        "COALESCE(acked_by, $3), resolved_at = $2, resolved_by = $3, outcome = $4, "
        "note = $5, next_escalation_ms = NULL WHERE alert_id = $1",
        {PgText(alert_id), PgText(FormatRfc3339(at)), PgText(by), PgText(outcome),
         PgTextOrNull(note)},
        "resolve");
  });
}

Status PgStore::SetEscalation(const std::string& alert_id, int level,
                              std::optional<TimePoint> next_at) {
  return InTransaction([&]() -> Status {
    return Queue(
        "UPDATE alerts SET escalation_level = $2, next_escalation_ms = $3 WHERE "
        "alert_id = $1",
        {PgText(alert_id), PgInt(level), next_at ? PgInt(Ms(*next_at)) : PgNull()},
        "escalation update");
  });
}

Result<PurgeResult> PgStore::Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                                   TimePoint audit_before) {
  const TimePoint audit_limit = now - std::chrono::hours(24 * 365);
  if (audit_before > audit_limit) audit_before = audit_limit;
  PurgeResult result;
  Status s = InTransaction([&]() -> Status {
    if (dead_letters_before) {
      auto del = Exec(
          "DELETE FROM inbound WHERE result = 'rejected' AND "
          "received_at::timestamptz < $1::timestamptz",
          {PgText(FormatRfc3339(*dead_letters_before))}, "dead-letter purge");
      if (!del.ok()) return del.status();
      result.dead_letters = del->affected();
    }
    // The purged rows must be a prefix of the chain: up to the row before the first one dated
    // at or after the cut (rows are dated as written).
    auto last = Exec(
        "SELECT id, hash FROM audit_log WHERE id < COALESCE((SELECT MIN(id) FROM audit_log "
        "WHERE at::timestamptz >= $1::timestamptz), (SELECT MAX(id) + 1 FROM audit_log)) "
        "ORDER BY id DESC LIMIT 1",
        {PgText(FormatRfc3339(audit_before))}, "audit purge");
    if (!last.ok()) return last.status();
    int64_t through = 0;
    if (last->rows() > 0) {
      through = last->Int(0, 0);
      auto anchor = Exec("INSERT INTO audit_anchor (purged_through, hash, at) VALUES ($1,$2,$3)",
                         {PgInt(through), PgText(last->Text(0, 1)), PgText(FormatRfc3339(now))},
                         "audit anchor");
      if (!anchor.ok()) return anchor.status();
      auto del = Exec("DELETE FROM audit_log WHERE id <= $1", {PgInt(through)}, "audit purge");
      if (!del.ok()) return del.status();
      result.audit_rows = del->affected();
    }
    if (result.dead_letters == 0 && result.audit_rows == 0) return Status::Ok();
    return InsertAudit(ErasureAudit({
        .at = now,
        .dead_letters = result.dead_letters,
        .dead_letters_before = dead_letters_before,
        .audit_rows = result.audit_rows,
        .audit_before = audit_before,
        .purged_through = through,
    }));
  });
  if (!s.ok()) return s;
  return result;
}

std::string PgStore::SubjectOf(const std::string& instrument_id) {
  auto r = Exec(
      "SELECT subject FROM instrument_versions WHERE instrument_id = $1 AND subject IS NOT NULL "
      "ORDER BY version DESC LIMIT 1",
      {PgText(instrument_id)}, "instrument subject");
  if (!r.ok() || r->rows() == 0) return "";
  return r->Text(0, 0);
}

// ---------------------------------------------------------------------------------------------
// Read path.

Result<std::optional<std::string>> PgStore::HandledPayload(const std::string& source,
                                                           const std::string& msg_id) {
  auto r = Exec(
      "SELECT payload FROM inbound WHERE source=$1 AND msg_id=$2 AND result='handled'",
      {PgText(source), PgText(msg_id)}, "duplicate check");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->Bytes(0, 0));
}

Result<std::vector<std::tuple<std::string, std::string, int64_t>>> PgStore::LastSeqs() {
  auto r = Exec(
      "SELECT channel, source, MAX(seq) FROM inbound WHERE source IS NOT NULL AND seq IS NOT "
      "NULL GROUP BY channel, source",
      {}, "last seqs");
  if (!r.ok()) return r.status();
  std::vector<std::tuple<std::string, std::string, int64_t>> out;
  for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->Text(i, 0), r->Text(i, 1), r->Int(i, 2));
  return out;
}

Status PgStore::ForEachHandled(int64_t after_row, const HandledRowFn& fn) {
  // In batches by row, so that a long journal is never held in memory at once.
  constexpr int kBatch = 5000;
  for (;;) {
    auto r = Exec(
        "SELECT rowid_, channel, payload FROM inbound WHERE result='handled' AND rowid_ > $1 "
        "ORDER BY rowid_ LIMIT 5000",
        {PgInt(after_row)}, "replay");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) {
      after_row = r->Int(i, 0);
      fn(after_row, r->Text(i, 1), r->Bytes(i, 2));
    }
    if (r->rows() < kBatch) return Status::Ok();
  }
}

Status PgStore::ForEachHandledKey(const HandledKeyFn& fn) {
  // From the (source, msg_id) index of handled rows, in pages by key: one round trip per
  // 50,000 ids at start-up instead of one per message for the matcher's deduplication.
  constexpr int kPage = 50000;
  std::string source, msg_id;
  bool first = true;
  for (;;) {
    auto r = first ? Exec("SELECT source, msg_id FROM inbound WHERE result='handled' AND source "
                          "IS NOT NULL AND msg_id IS NOT NULL ORDER BY source, msg_id "
                          "LIMIT 50000",
                          {}, "handled ids")
                   : Exec("SELECT source, msg_id FROM inbound WHERE result='handled' AND "
                          "(source, msg_id) > ($1, $2) ORDER BY source, msg_id LIMIT 50000",
                          {PgText(source), PgText(msg_id)}, "handled ids");
    if (!r.ok()) return r.status();
    first = false;
    for (int i = 0; i < r->rows(); ++i) {
      source = r->Text(i, 0);
      msg_id = r->Text(i, 1);
      fn(source, msg_id);
    }
    if (r->rows() < kPage) return Status::Ok();
  }
}

Status PgStore::ForEachResolvedAlert(
    const std::function<void(const std::string&, const std::string&)>& fn) {
  auto r = Exec(
      "SELECT payload, outcome FROM alerts WHERE resolved_at IS NOT NULL AND outcome IS NOT "
      "NULL ORDER BY seq",
      {}, "resolved alerts");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) fn(r->Text(i, 0), r->Text(i, 1));
  return Status::Ok();
}

Result<int64_t> PgStore::MaxAlertSeq() {
  auto r = Exec("SELECT COALESCE(MAX(seq), 0) FROM alerts", {}, "reading last alert seq");
  if (!r.ok()) return r.status();
  return r->Int(0, 0);
}

Result<std::vector<std::string>> PgStore::AlertsSince(int64_t after, int limit) {
  auto r = Exec("SELECT payload FROM alerts WHERE seq > $1 ORDER BY seq LIMIT $2",
                {PgInt(after), PgInt(limit)}, "alerts query");
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->Text(i, 0));
  return out;
}

Result<StoreCounts> PgStore::Counts() {
  auto r = Exec(
      "SELECT (SELECT COUNT(*) FROM inbound WHERE result='handled'),"
      " (SELECT COUNT(*) FROM inbound WHERE result='rejected'),"
      " (SELECT COUNT(DISTINCT instrument_id) FROM instrument_versions),"
      " (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM audit_log)",
      {}, "counting");
  if (!r.ok()) return r.status();
  StoreCounts c;
  c.inbound_handled = r->Int(0, 0);
  c.inbound_rejected = r->Int(0, 1);
  c.instruments = r->Int(0, 2);
  c.alerts = r->Int(0, 3);
  c.audit = r->Int(0, 4);
  return c;
}

Result<int64_t> PgStore::CountAlerts(const std::string& person_id,
                                     const std::vector<std::string>& kinds) {
  if (kinds.empty()) return int64_t{0};
  std::string sql = "SELECT COUNT(*) FROM alerts WHERE person_id=$1 AND kind IN (";
  std::vector<PgParam> params{PgText(person_id)};
  for (size_t i = 0; i < kinds.size(); ++i) {
    sql += (i ? ",$" : "$") + std::to_string(i + 2);
    params.push_back(PgText(kinds[i]));
  }
  sql += ")";
  auto r = Exec(sql.c_str(), params, "alert count");
  if (!r.ok()) return r.status();
  return r->Int(0, 0);
}

Result<std::vector<AlertState>> PgStore::QueryAlerts(const std::string& where,
                                                     const std::vector<PgParam>& params) {
  const std::string sql = std::string("SELECT ") + kAlertColumns + " FROM alerts " + where;
  auto r = Exec(sql.c_str(), params, "alert query");
  if (!r.ok()) return r.status();
  std::vector<AlertState> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadAlert(*r, i));
  return out;
}

Result<std::optional<AlertState>> PgStore::GetAlert(const std::string& alert_id) {
  auto rows = QueryAlerts("WHERE alert_id = $1", {PgText(alert_id)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AlertState>();
  return std::optional<AlertState>(std::move(rows->front()));
}

Result<std::vector<AlertState>> PgStore::DueEscalations(TimePoint now) {
  return QueryAlerts(
      "WHERE next_escalation_ms IS NOT NULL AND next_escalation_ms <= $1 AND acked_at IS NULL "
      "AND outcome IS NULL ORDER BY next_escalation_ms, seq",
      {PgInt(Ms(now))});
}

Result<std::optional<TimePoint>> PgStore::NextEscalationDeadline() {
  auto r = Exec("SELECT MIN(next_escalation_ms) FROM alerts WHERE next_escalation_ms IS NOT NULL",
                {}, "reading next deadline");
  if (!r.ok()) return r.status();
  if (r->rows() == 0 || r->IsNull(0, 0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(TimePoint(Millis(r->Int(0, 0))));
}

Result<std::vector<AlertState>> PgStore::OpenAlerts(const std::string& recipient,
                                                    int64_t after_seq,
                                                    std::optional<TimePoint> raised_by,
                                                    int limit) {
  const int64_t raised_by_ms =
      raised_by ? Ms(*raised_by) : std::numeric_limits<int64_t>::max();
  std::vector<PgParam> params = {PgInt(after_seq), PgInt(raised_by_ms), PgInt(limit)};
  std::string where = "WHERE outcome IS NULL AND severity != 'info' AND seq > $1 AND raised_ms <= $2";
  if (!recipient.empty()) {
    where += " AND seq IN (SELECT alert_seq FROM alert_recipients WHERE recipient = $4)";
    params.push_back(PgText(recipient));
  }
  return QueryAlerts(where + " ORDER BY seq LIMIT $3", params);
}

Result<std::vector<HistoryRow>> PgStore::PersonHistory(const std::string& person_id) {
  std::vector<HistoryRow> out;
  auto instruments = Exec(
      "SELECT effective_ms, change, instrument_id, version, body, end_reason, recorded_at "
      "FROM instrument_versions WHERE instrument_id IN "
      "(SELECT instrument_id FROM instrument_versions WHERE subject = $1) ORDER BY rowid_",
      {PgText(person_id)}, "history (instruments)");
  if (!instruments.ok()) return instruments.status();
  for (int i = 0; i < instruments->rows(); ++i) {
    const PgResult& st = *instruments;
    boost::json::object d;
    d["instrument_id"] = st.Text(i, 2);
    d["version"] = st.Int(i, 3);
    if (!st.IsNull(i, 4)) {
      boost::json::error_code ec;
      auto v = boost::json::parse(st.Text(i, 4), ec);
      if (!ec) d["instrument"] = std::move(v);
    }
    if (!st.IsNull(i, 5)) d["reason"] = st.Text(i, 5);
    d["recorded_at"] = st.Text(i, 6);
    out.push_back({TimePoint(Millis(st.Int(i, 0))), "instrument " + st.Text(i, 1),
                   boost::json::serialize(d)});
  }
  auto custody = Exec(
      "SELECT event_time, type, payload FROM inbound WHERE person_id = $1 AND "
      "result = 'handled' AND type LIKE 'custody.%' ORDER BY rowid_",
      {PgText(person_id)}, "history (custody)");
  if (!custody.ok()) return custody.status();
  for (int i = 0; i < custody->rows(); ++i) {
    auto t = ParseRfc3339(custody->Text(i, 0));
    out.push_back({t.value_or(TimePoint{}),
                   custody->Text(i, 1) == "custody.arrested" ? "arrest" : "release",
                   custody->Bytes(i, 2)});
  }
  auto alerts = Exec(
      "SELECT event_time, kind, payload, acked_at, acked_by, resolved_at, resolved_by, "
      "outcome, note FROM alerts WHERE person_id = $1 AND kind != 'check_result' ORDER BY seq",
      {PgText(person_id)}, "history (alerts)");
  if (!alerts.ok()) return alerts.status();
  for (int i = 0; i < alerts->rows(); ++i) {
    const PgResult& st = *alerts;
    boost::json::error_code ec;
    auto v = boost::json::parse(st.Text(i, 2), ec);
    boost::json::object d = (!ec && v.is_object()) ? v.get_object() : boost::json::object{};
    boost::json::object state;
    if (!st.IsNull(i, 3)) state["acked_at"] = st.Text(i, 3), state["acked_by"] = st.Text(i, 4);
    if (!st.IsNull(i, 5)) {
      state["resolved_at"] = st.Text(i, 5);
      state["resolved_by"] = st.Text(i, 6);
      state["outcome"] = st.Text(i, 7);
      if (!st.IsNull(i, 8)) state["note"] = st.Text(i, 8);
    }
    d["record"] = std::move(state);
    auto t = ParseRfc3339(st.Text(i, 0));
    out.push_back(
        {t.value_or(TimePoint{}), "alert " + st.Text(i, 1), boost::json::serialize(d)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const HistoryRow& a, const HistoryRow& b) { return a.time < b.time; });
  return out;
}

}  // namespace bw
