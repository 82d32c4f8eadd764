// The SQLite store's write path: inbound messages, instrument versions,
// alerts and their lifecycle, retention.  Each write that the audit log must
// record appends its row in the same transaction; what the row says comes
// from handlers/audit/audit_records.h.  See sqlite_store_impl.h.
#include <boost/json.hpp>

#include <chrono>
#include <string>

#include "daemon/sqlite_store_impl.h"
#include "handlers/audit/audit_records.h"
#include "handlers/base/time_util.h"

namespace bw {

Result<int64_t> SqliteStore::InsertInbound(const InboundRecord& r) {
  static constexpr char kSql[] =
      "INSERT INTO inbound (received_at, channel, topic, source, msg_id, seq, type, "
      "event_time, payload, result, reason, detail, person_id) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
  Stmt st(db_.Cached(kSql));
  if (!st.ok()) return db_.Error("preparing inbound insert");
  st.Bind(1, FormatRfc3339(r.received_at)).Bind(2, r.channel).Bind(3, r.topic);
  st.BindOrNull(4, r.source).BindOrNull(5, r.msg_id);
  if (r.seq > 0) st.Bind(6, r.seq);
  st.BindOrNull(7, r.type);
  if (r.event_time) st.Bind(8, FormatRfc3339(*r.event_time));
  st.BindBlob(9, r.payload).Bind(10, r.result).BindOrNull(11, r.reason).BindOrNull(12, r.detail);
  st.BindOrNull(13, r.person_id);
  Status s = db_.StepDone(st, "inbound insert");
  if (!s.ok()) return s;
  // No audit row here: the journal writes one `collection` record per committed batch
  // (handlers/audit/audit_records.h, CollectionBatch).
  return db_.LastInsertRowid();
}

Status SqliteStore::InsertInstrumentChange(const InstrumentChange& c, const std::string& source,
                                           const std::string& id, TimePoint recorded_at) {
  Stmt st(db_.handle(),
          "INSERT INTO instrument_versions (instrument_id, version, change, effective, "
          "effective_ms, recorded_at, subject, body, end_reason, caused_by_source, caused_by_id) "
          "VALUES (?1, (SELECT COALESCE(MAX(version),0)+1 FROM instrument_versions "
          "WHERE instrument_id=?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!st.ok()) return db_.Error("preparing instrument insert");
  st.Bind(1, c.instrument_id).Bind(2, std::string(InstrumentChangeKindName(c.kind)));
  st.Bind(3, FormatRfc3339(c.effective)).Bind(4, c.effective.time_since_epoch().count());
  st.Bind(5, FormatRfc3339(recorded_at));
  if (c.instrument) {
    st.Bind(6, c.instrument->subject).Bind(7, c.instrument_raw);
  }
  st.BindOrNull(8, c.end_reason).BindOrNull(9, source).BindOrNull(10, id);
  Status s = db_.StepDone(st, "instrument insert");
  if (!s.ok() || !IsAuditedAlteration(c)) return s;
  const std::string subject = c.instrument ? c.instrument->subject : SubjectOf(c.instrument_id);
  return InsertAudit(AlterationAudit(c, subject, source, id, recorded_at));
}

Status SqliteStore::InsertAlert(const Alert& a, std::optional<TimePoint> escalate_at) {
  static constexpr char kSql[] =
      "INSERT INTO alerts (seq, alert_id, kind, severity, person_id, instrument_id, "
      "raised_at, event_time, payload, raised_ms, next_escalation_ms) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
  Stmt st(db_.Cached(kSql));
  if (!st.ok()) return db_.Error("preparing alert insert");
  st.Bind(1, a.seq).Bind(2, a.alert_id).Bind(3, std::string(AlertKindName(a.kind)));
  st.Bind(4, std::string(SeverityName(a.severity)));
  st.BindOrNull(5, a.person_id).BindOrNull(6, a.instrument_id);
  st.Bind(7, FormatRfc3339(a.raised_at)).Bind(8, FormatRfc3339(a.event_time));
  st.Bind(9, boost::json::serialize(AlertToJson(a)));
  st.Bind(10, a.raised_at.time_since_epoch().count());
  if (escalate_at) st.Bind(11, escalate_at->time_since_epoch().count());
  Status s = db_.StepDone(st, "alert insert");
  if (!s.ok()) return s;
  for (const auto& r : a.recipients) {
    static constexpr char kRecipientSql[] =
        "INSERT INTO alert_recipients (alert_seq, recipient) VALUES (?1, ?2)";
    Stmt rs(db_.Cached(kRecipientSql));
    if (!rs.ok()) return db_.Error("preparing recipient insert");
    rs.Bind(1, a.seq).Bind(2, r);
    s = db_.StepDone(rs, "recipient insert");
    if (!s.ok()) return s;
  }
  if (const std::optional<AuditRecord> combination = CombinationAudit(a)) {
    s = InsertAudit(*combination);
    if (!s.ok()) return s;
  }
  return InsertAudit(DisclosureAudit(a));
}

Status SqliteStore::AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) {
  Stmt st(db_.handle(),
          "UPDATE alerts SET acked_at = COALESCE(acked_at, ?2), acked_by = COALESCE(acked_by, ?3), "
          "next_escalation_ms = NULL WHERE alert_id = ?1");
  if (!st.ok()) return db_.Error("preparing ack");
  st.Bind(1, alert_id).Bind(2, FormatRfc3339(at)).Bind(3, by);
  return db_.StepDone(st, "ack");
}

Status SqliteStore::ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                                 const std::string& outcome, const std::string& note) {
  Stmt st(db_.handle(),
          "UPDATE alerts SET acked_at = COALESCE(acked_at, ?2), acked_by = COALESCE(acked_by, ?3), "
          "resolved_at = ?2, resolved_by = ?3, outcome = ?4, note = ?5, "
          "next_escalation_ms = NULL WHERE alert_id = ?1");
  if (!st.ok()) return db_.Error("preparing resolve");
  st.Bind(1, alert_id).Bind(2, FormatRfc3339(at)).Bind(3, by).Bind(4, outcome);
  st.BindOrNull(5, note);
  return db_.StepDone(st, "resolve");
}

Status SqliteStore::SetEscalation(const std::string& alert_id, int level,
                                  std::optional<TimePoint> next_at) {
  Stmt st(db_.handle(),
          "UPDATE alerts SET escalation_level = ?2, next_escalation_ms = ?3 WHERE alert_id = ?1");
  if (!st.ok()) return db_.Error("preparing escalation update");
  st.Bind(1, alert_id).Bind(2, static_cast<int64_t>(level));
  if (next_at) st.Bind(3, next_at->time_since_epoch().count());
  return db_.StepDone(st, "escalation update");
}

Result<PurgeResult> SqliteStore::Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                                       TimePoint audit_before) {
  const TimePoint audit_limit = now - std::chrono::hours(24 * 365);
  if (audit_before > audit_limit) audit_before = audit_limit;
  PurgeResult result;
  const bool own_transaction = !db_.InTransaction();
  if (own_transaction) {
    Status s = Begin();
    if (!s.ok()) return s;
  }
  auto fail = [&](Status s) -> Result<PurgeResult> {
    if (own_transaction) Rollback();
    return s;
  };
  if (dead_letters_before) {
    Stmt st(
        db_.handle(),
        "DELETE FROM inbound WHERE result = 'rejected' AND julianday(received_at) < julianday(?1)");
    if (!st.ok()) return fail(db_.Error("preparing dead-letter purge"));
    st.Bind(1, FormatRfc3339(*dead_letters_before));
    Status s = db_.StepDone(st, "dead-letter purge");
    if (!s.ok()) return fail(s);
    result.dead_letters = db_.Changes();
  }
  // The purged rows must be a prefix of the chain: up to the row before the
  // first one dated at or after the cut (rows are dated as written).
  int64_t through = 0;
  std::string through_hash;
  {
    Stmt st(db_.handle(),
            "SELECT id, hash FROM audit_log WHERE id < COALESCE((SELECT MIN(id) FROM audit_log "
            "WHERE julianday(at) >= julianday(?1)), (SELECT MAX(id) + 1 FROM audit_log)) ORDER BY "
            "id DESC LIMIT 1");
    if (!st.ok()) return fail(db_.Error("preparing audit purge"));
    st.Bind(1, FormatRfc3339(audit_before));
    if (st.Step() == SQLITE_ROW) {
      through = st.Int(0);
      through_hash = st.Text(1);
    }
  }
  if (through > 0) {
    Stmt anchor(db_.handle(),
                "INSERT INTO audit_anchor (purged_through, hash, at) VALUES (?1, ?2, ?3)");
    if (!anchor.ok()) return fail(db_.Error("preparing audit anchor"));
    anchor.Bind(1, through).Bind(2, through_hash).Bind(3, FormatRfc3339(now));
    Status s = db_.StepDone(anchor, "audit anchor");
    if (!s.ok()) return fail(s);
    Stmt del(db_.handle(), "DELETE FROM audit_log WHERE id <= ?1");
    if (!del.ok()) return fail(db_.Error("preparing audit purge"));
    del.Bind(1, through);
    s = db_.StepDone(del, "audit purge");
    if (!s.ok()) return fail(s);
    result.audit_rows = db_.Changes();
  }
  if (result.dead_letters > 0 || result.audit_rows > 0) {
    Status s = InsertAudit(ErasureAudit({
        .at = now,
        .dead_letters = result.dead_letters,
        .dead_letters_before = dead_letters_before,
        .audit_rows = result.audit_rows,
        .audit_before = audit_before,
        .purged_through = through,
    }));
    if (!s.ok()) return fail(s);
  }
  if (own_transaction) {
    Status s = Commit();
    if (!s.ok()) return s;
  }
  return result;
}

std::string SqliteStore::SubjectOf(const std::string& instrument_id) {
  Stmt st(db_.handle(),
          "SELECT subject FROM instrument_versions WHERE instrument_id = ?1 AND subject IS NOT "
          "NULL ORDER BY version DESC LIMIT 1");
  if (!st.ok()) return "";
  st.Bind(1, instrument_id);
  return st.Step() == SQLITE_ROW ? st.Text(0) : "";
}
}  // namespace bw
