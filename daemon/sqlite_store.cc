// SQLite implementation of Store.  See store.h.
#include <sqlite3.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include "daemon/audit_chain.h"
#include "daemon/store.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

// Schema migrations, applied in order; PRAGMA user_version records how many ran.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE inbound (
  rowid_ INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  channel TEXT NOT NULL,
  topic TEXT NOT NULL,
  source TEXT,
  msg_id TEXT,
  seq INTEGER,
  type TEXT,
  event_time TEXT,
  payload BLOB NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('handled', 'rejected')),
  reason TEXT,
  detail TEXT
);
CREATE UNIQUE INDEX inbound_handled_once ON inbound(source, msg_id) WHERE result = 'handled';
CREATE INDEX inbound_rejected ON inbound(result, received_at);

CREATE TABLE instrument_versions (
  rowid_ INTEGER PRIMARY KEY,
  instrument_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  change TEXT NOT NULL CHECK (change IN ('granted', 'varied', 'ended')),
  effective TEXT NOT NULL,
  effective_ms INTEGER NOT NULL,
  recorded_at TEXT NOT NULL,
  subject TEXT,
  body TEXT,
  end_reason TEXT,
  caused_by_source TEXT,
  caused_by_id TEXT,
  UNIQUE (instrument_id, version)
);
CREATE INDEX instrument_versions_subject ON instrument_versions(subject);

CREATE TABLE alerts (
  seq INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  person_id TEXT,
  instrument_id TEXT,
  raised_at TEXT NOT NULL,
  event_time TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX alerts_person ON alerts(person_id);

CREATE TABLE alert_recipients (
  alert_seq INTEGER NOT NULL REFERENCES alerts(seq),
  recipient TEXT NOT NULL,
  PRIMARY KEY (alert_seq, recipient)
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  op TEXT NOT NULL,
  subjects TEXT,
  reason TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
)sql",
    // 2: alert lifecycle (acknowledgement, outcome, stored escalation deadlines) and
    //    the person each inbound event is about (for history.person).
    R"sql(
ALTER TABLE alerts ADD COLUMN acked_at TEXT;
ALTER TABLE alerts ADD COLUMN acked_by TEXT;
ALTER TABLE alerts ADD COLUMN resolved_at TEXT;
ALTER TABLE alerts ADD COLUMN resolved_by TEXT;
ALTER TABLE alerts ADD COLUMN outcome TEXT;
ALTER TABLE alerts ADD COLUMN note TEXT;
ALTER TABLE alerts ADD COLUMN raised_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN next_escalation_ms INTEGER;
CREATE INDEX alerts_escalation ON alerts(next_escalation_ms) WHERE next_escalation_ms IS NOT NULL;
CREATE INDEX alerts_open ON alerts(seq) WHERE outcome IS NULL AND severity != 'info';
ALTER TABLE inbound ADD COLUMN person_id TEXT;
CREATE INDEX inbound_person ON inbound(person_id) WHERE person_id IS NOT NULL;
)sql",
    // 3: the audit log becomes a hash chain (daemon/audit_chain.h) with the s.62
    //    category and recipients; rows are chained by Init() between this and
    //    kAuditTriggers, in the same transaction.
    R"sql(
ALTER TABLE audit_log ADD COLUMN category TEXT NOT NULL DEFAULT 'consultation';
ALTER TABLE audit_log ADD COLUMN recipients TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TABLE audit_anchor (
  id INTEGER PRIMARY KEY,
  purged_through INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL
);
)sql",
};

// Append-only: rows of audit_log can be neither changed nor deleted, except
// rows already covered by a purge anchor and more than 365 days old (by the
// wall clock, whatever the daemon was told).  Created after migration 3 chains
// the existing rows.
const char kAuditTriggers[] = R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN old.id > COALESCE((SELECT MAX(purged_through) FROM audit_anchor), 0)
  OR julianday(old.at) > julianday('now') - 365
BEGIN SELECT RAISE(ABORT,
  'audit_log is append-only: only a purge of rows older than 365 days may delete'); END;
CREATE TRIGGER audit_anchor_no_update BEFORE UPDATE ON audit_anchor
BEGIN SELECT RAISE(ABORT, 'audit_anchor is append-only'); END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
BEGIN SELECT RAISE(ABORT, 'audit_anchor is append-only'); END;
)sql";
constexpr int64_t kAuditChainMigration = 3;

// A prepared statement for one use: finalized afterwards, or, when it came from
// the store's cache (hot statements), reset for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  explicit Stmt(sqlite3_stmt* cached) : stmt_(cached), rc_(cached ? SQLITE_OK : SQLITE_ERROR),
                                        cached_(true) {}
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindOrNull(int i, const std::string& s) {
    if (s.empty()) {
      sqlite3_bind_null(stmt_, i);
      return *this;
    }
    return Bind(i, s);
  }
  Stmt& BindBlob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  bool cached_ = false;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  Status Init() {
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"}) {
      Status s = Exec(pragma);
      if (!s.ok()) return s;
    }
    Stmt v(db_, "PRAGMA user_version");
    if (!v.ok() || v.Step() != SQLITE_ROW) return Error("reading schema version");
    int64_t version = v.Int(0);
    const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
    if (version > latest) {
      return Status::Unavailable("store schema version " + std::to_string(version) +
                                 " is newer than this breachwatchd supports (" +
                                 std::to_string(latest) + ")");
    }
    for (int64_t i = version; i < latest; ++i) {
      Status s = Exec("BEGIN IMMEDIATE");
      if (s.ok()) s = Exec(kMigrations[i]);
      if (s.ok() && i + 1 == kAuditChainMigration) {
        s = ChainExistingAuditRows();
        if (s.ok()) s = Exec(kAuditTriggers);
      }
      if (s.ok()) s = Exec(("PRAGMA user_version=" + std::to_string(i + 1)).c_str());
      if (s.ok()) s = Exec("COMMIT");
      if (!s.ok()) {
        Exec("ROLLBACK").ok();
        return Status::Unavailable("schema migration " + std::to_string(i + 1) +
                                   " failed: " + s.message());
      }
    }
    return LoadAuditHead();
  }

  Status Begin() override {
    pending_audit_ = committed_audit_;
    return Exec("BEGIN IMMEDIATE");
  }
  Status Commit() override {
    Status s = Exec("COMMIT");
    if (!s.ok()) {
      Rollback();
      return s;
    }
    committed_audit_ = pending_audit_;
    return s;
  }
  void Rollback() override {
    if (!sqlite3_get_autocommit(db_)) Exec("ROLLBACK").ok();
    pending_audit_ = committed_audit_;
  }

  Result<bool> HasHandled(const std::string& source, const std::string& msg_id) override {
    static constexpr char kSql[] =
        "SELECT 1 FROM inbound WHERE source=?1 AND msg_id=?2 AND result='handled'";
    Stmt st(Cached(kSql));
    if (!st.ok()) return Error("preparing duplicate check");
    st.Bind(1, source).Bind(2, msg_id);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Error("duplicate check");
  }

  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override {
    std::vector<std::tuple<std::string, std::string, int64_t>> out;
    Stmt st(db_,
            "SELECT channel, source, MAX(seq) FROM inbound WHERE source IS NOT NULL AND seq IS NOT "
            "NULL GROUP BY channel, source");
    if (!st.ok()) return Error("preparing last seqs");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.emplace_back(st.Text(0), st.Text(1), st.Int(2));
    if (rc != SQLITE_DONE) return Error("last seqs");
    return out;
  }

  Result<int64_t> InsertInbound(const InboundRecord& r) override {
    static constexpr char kSql[] =
        "INSERT INTO inbound (received_at, channel, topic, source, msg_id, seq, type, "
        "event_time, payload, result, reason, detail, person_id) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
    Stmt st(Cached(kSql));
    if (!st.ok()) return Error("preparing inbound insert");
    st.Bind(1, FormatRfc3339(r.received_at)).Bind(2, r.channel).Bind(3, r.topic);
    st.BindOrNull(4, r.source).BindOrNull(5, r.msg_id);
    if (r.seq > 0) st.Bind(6, r.seq);
    st.BindOrNull(7, r.type);
    if (r.event_time) st.Bind(8, FormatRfc3339(*r.event_time));
    st.BindBlob(9, r.payload).Bind(10, r.result).BindOrNull(11, r.reason).BindOrNull(12, r.detail);
    st.BindOrNull(13, r.person_id);
    Status s = StepDone(st, "inbound insert");
    if (!s.ok()) return s;
    const auto row = static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
    if (r.channel != "tick" && !r.audited_by_caller) {
      AuditRecord a;
      a.at = r.received_at;
      a.category = "collection";
      a.actor = r.collected_by.empty() ? "feed/" + r.channel : r.collected_by;
      a.op = r.type.empty() ? "inbound" : r.type;
      a.subjects = r.person_id;
      a.reason = r.collected_reason.empty() ? "monitoring feed intake" : r.collected_reason;
      a.outcome = r.result;
      a.detail = "inbound #" + std::to_string(row) + " " + r.source + "/" + r.msg_id +
                 (r.reason.empty() ? "" : " (" + r.reason + ")");
      s = InsertAudit(a);
      if (!s.ok()) return s;
    }
    return row;
  }

  Status InsertInstrumentChange(const InstrumentChange& c, const std::string& source,
                                const std::string& id, TimePoint recorded_at) override {
    Stmt st(db_,
            "INSERT INTO instrument_versions (instrument_id, version, change, effective, "
            "effective_ms, recorded_at, subject, body, end_reason, caused_by_source, caused_by_id) "
            "VALUES (?1, (SELECT COALESCE(MAX(version),0)+1 FROM instrument_versions "
            "WHERE instrument_id=?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!st.ok()) return Error("preparing instrument insert");
    st.Bind(1, c.instrument_id).Bind(2, std::string(InstrumentChangeKindName(c.kind)));
    st.Bind(3, FormatRfc3339(c.effective)).Bind(4, c.effective.time_since_epoch().count());
    st.Bind(5, FormatRfc3339(recorded_at));
    if (c.instrument) {
      st.Bind(6, c.instrument->subject).Bind(7, boost::json::serialize(c.instrument->raw));
    }
    st.BindOrNull(8, c.end_reason).BindOrNull(9, source).BindOrNull(10, id);
    Status s = StepDone(st, "instrument insert");
    if (!s.ok() || c.kind == InstrumentChange::Kind::kGranted) return s;
    AuditRecord a;
    a.at = recorded_at;
    a.category = "alteration";
    a.actor = source.empty() ? "breachwatchd" : source;
    a.op = std::string("instrument.") + InstrumentChangeKindName(c.kind);
    a.subjects = c.instrument ? c.instrument->subject : SubjectOf(c.instrument_id);
    a.reason = c.kind == InstrumentChange::Kind::kVaried ? "order varied by its issuer"
                                                          : "order ended: " + c.end_reason;
    a.outcome = "ok";
    a.detail = c.instrument_id + " from " + FormatRfc3339(c.effective) + " (caused by " + source +
               "/" + id + ")";
    return InsertAudit(a);
  }

  Status InsertAlert(const Alert& a, std::optional<TimePoint> escalate_at) override {
    static constexpr char kSql[] =
        "INSERT INTO alerts (seq, alert_id, kind, severity, person_id, instrument_id, "
        "raised_at, event_time, payload, raised_ms, next_escalation_ms) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
    Stmt st(Cached(kSql));
    if (!st.ok()) return Error("preparing alert insert");
    st.Bind(1, a.seq).Bind(2, a.alert_id).Bind(3, std::string(AlertKindName(a.kind)));
    st.Bind(4, std::string(SeverityName(a.severity)));
    st.BindOrNull(5, a.person_id).BindOrNull(6, a.instrument_id);
    st.Bind(7, FormatRfc3339(a.raised_at)).Bind(8, FormatRfc3339(a.event_time));
    st.Bind(9, boost::json::serialize(AlertToJson(a)));
    st.Bind(10, a.raised_at.time_since_epoch().count());
    if (escalate_at) st.Bind(11, escalate_at->time_since_epoch().count());
    Status s = StepDone(st, "alert insert");
    if (!s.ok()) return s;
    for (const auto& r : a.recipients) {
      static constexpr char kRecipientSql[] =
          "INSERT INTO alert_recipients (alert_seq, recipient) VALUES (?1, ?2)";
      Stmt rs(Cached(kRecipientSql));
      if (!rs.ok()) return Error("preparing recipient insert");
      rs.Bind(1, a.seq).Bind(2, r);
      s = StepDone(rs, "recipient insert");
      if (!s.ok()) return s;
    }
    if (!a.condition_id.empty() && !a.caused_by_id.empty()) {
      AuditRecord c;
      c.at = a.raised_at;
      c.category = "combination";
      c.actor = "breachwatchd";
      c.op = "match";
      c.subjects = a.person_id;
      c.reason = "condition matching";
      c.outcome = AlertKindName(a.kind);
      c.detail = "event " + a.caused_by_source + "/" + a.caused_by_id + " matched condition " +
                 a.condition_id + " of " + a.instrument_id + ": alert " + a.alert_id;
      s = InsertAudit(c);
      if (!s.ok()) return s;
    }
    AuditRecord d;
    d.at = a.raised_at;
    d.category = "disclosure";
    d.actor = "breachwatchd";
    d.op = std::string("alert.") + AlertKindName(a.kind);
    d.subjects = a.person_id;
    d.reason = "alert delivery";
    d.outcome = "ok";
    d.detail = "alert #" + std::to_string(a.seq) + " " + a.alert_id;
    for (size_t i = 0; i < a.recipients.size(); ++i) {
      d.recipients += (i ? "," : "") + a.recipients[i];
    }
    return InsertAudit(d);
  }

  Status InsertAudit(const AuditRecord& r) override {
    AuditRow row;
    row.id = pending_audit_.last_id + 1;
    row.at = FormatRfc3339(r.at);
    row.category = r.category;
    row.actor = r.actor;
    row.op = r.op;
    row.subjects = r.subjects;
    row.reason = r.reason;
    row.outcome = r.outcome;
    row.detail = r.detail;
    row.recipients = r.recipients;
    row.prev_hash = pending_audit_.last_hash;
    row.hash = AuditRowHash(row);
    Status s = WriteAuditRow(row);
    if (!s.ok()) return s;
    pending_audit_ = {row.id, row.hash};
    if (sqlite3_get_autocommit(db_)) committed_audit_ = pending_audit_;  // not in a transaction
    return Status::Ok();
  }

  Result<PurgeResult> Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                            TimePoint audit_before) override {
    const TimePoint audit_limit = now - std::chrono::hours(24 * 365);
    if (audit_before > audit_limit) audit_before = audit_limit;
    PurgeResult result;
    const bool own_transaction = sqlite3_get_autocommit(db_) != 0;
    if (own_transaction) {
      Status s = Begin();
      if (!s.ok()) return s;
    }
    auto fail = [&](Status s) -> Result<PurgeResult> {
      if (own_transaction) Rollback();
      return s;
    };
    if (dead_letters_before) {
      Stmt st(db_, "DELETE FROM inbound WHERE result = 'rejected' AND julianday(received_at) < julianday(?1)");
      if (!st.ok()) return fail(Error("preparing dead-letter purge"));
      st.Bind(1, FormatRfc3339(*dead_letters_before));
      Status s = StepDone(st, "dead-letter purge");
      if (!s.ok()) return fail(s);
      result.dead_letters = sqlite3_changes(db_);
    }
    // The purged rows must be a prefix of the chain: up to the row before the
    // first one dated at or after the cut (rows are dated as written).
    int64_t through = 0;
    std::string through_hash;
    {
      Stmt st(db_,
              "SELECT id, hash FROM audit_log WHERE id < COALESCE((SELECT MIN(id) FROM audit_log "
              "WHERE julianday(at) >= julianday(?1)), (SELECT MAX(id) + 1 FROM audit_log)) ORDER BY id DESC LIMIT 1");
      if (!st.ok()) return fail(Error("preparing audit purge"));
      st.Bind(1, FormatRfc3339(audit_before));
      if (st.Step() == SQLITE_ROW) {
        through = st.Int(0);
        through_hash = st.Text(1);
      }
    }
    if (through > 0) {
      Stmt anchor(db_, "INSERT INTO audit_anchor (purged_through, hash, at) VALUES (?1, ?2, ?3)");
      if (!anchor.ok()) return fail(Error("preparing audit anchor"));
      anchor.Bind(1, through).Bind(2, through_hash).Bind(3, FormatRfc3339(now));
      Status s = StepDone(anchor, "audit anchor");
      if (!s.ok()) return fail(s);
      Stmt del(db_, "DELETE FROM audit_log WHERE id <= ?1");
      if (!del.ok()) return fail(Error("preparing audit purge"));
      del.Bind(1, through);
      s = StepDone(del, "audit purge");
      if (!s.ok()) return fail(s);
      result.audit_rows = sqlite3_changes(db_);
    }
    if (result.dead_letters > 0 || result.audit_rows > 0) {
      AuditRecord e;
      e.at = now;
      e.category = "erasure";
      e.actor = "breachwatchd";
      e.op = "retention.purge";
      e.reason = "retention policy";
      e.outcome = "ok";
      e.detail = std::to_string(result.dead_letters) + " dead letter(s) received before " +
                 (dead_letters_before ? FormatRfc3339(*dead_letters_before) : "-") + ", " +
                 std::to_string(result.audit_rows) + " audit row(s) dated before " +
                 FormatRfc3339(audit_before) + " (through row " + std::to_string(through) + ")";
      Status s = InsertAudit(e);
      if (!s.ok()) return fail(s);
    }
    if (own_transaction) {
      Status s = Commit();
      if (!s.ok()) return s;
    }
    return result;
  }

  Status ForEachHandled(
      const std::function<void(const std::string&, const std::string&)>& fn) override {
    Stmt st(db_, "SELECT channel, payload FROM inbound WHERE result='handled' ORDER BY rowid_");
    if (!st.ok()) return Error("preparing replay");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(st.Text(0), st.Text(1));
    if (rc != SQLITE_DONE) return Error("replay");
    return Status::Ok();
  }

  Result<int64_t> MaxAlertSeq() override {
    Stmt st(db_, "SELECT COALESCE(MAX(seq), 0) FROM alerts");
    if (!st.ok() || st.Step() != SQLITE_ROW) return Error("reading last alert seq");
    return st.Int(0);
  }

  Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) override {
    std::vector<std::string> out;
    Stmt st(db_, "SELECT payload FROM alerts WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    if (!st.ok()) return Error("preparing alerts query");
    st.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
    if (rc != SQLITE_DONE) return Error("alerts query");
    return out;
  }

  Result<StoreCounts> Counts() override {
    StoreCounts c;
    Stmt st(db_,
            "SELECT (SELECT COUNT(*) FROM inbound WHERE result='handled'),"
            " (SELECT COUNT(*) FROM inbound WHERE result='rejected'),"
            " (SELECT COUNT(DISTINCT instrument_id) FROM instrument_versions),"
            " (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM audit_log)");
    if (!st.ok() || st.Step() != SQLITE_ROW) return Error("counting");
    c.inbound_handled = st.Int(0);
    c.inbound_rejected = st.Int(1);
    c.instruments = st.Int(2);
    c.alerts = st.Int(3);
    c.audit = st.Int(4);
    return c;
  }

  Result<int64_t> CountAlerts(const std::string& person_id,
                              const std::vector<std::string>& kinds) override {
    std::string sql = "SELECT COUNT(*) FROM alerts WHERE person_id=?1 AND kind IN (";
    for (size_t i = 0; i < kinds.size(); ++i) sql += (i ? ",?" : "?") + std::to_string(i + 2);
    sql += ")";
    if (kinds.empty()) return int64_t{0};
    Stmt st(db_, sql.c_str());
    if (!st.ok()) return Error("preparing alert count");
    st.Bind(1, person_id);
    for (size_t i = 0; i < kinds.size(); ++i) st.Bind(static_cast<int>(i + 2), kinds[i]);
    if (st.Step() != SQLITE_ROW) return Error("alert count");
    return st.Int(0);
  }

  static constexpr const char* kAlertColumns =
      "seq, alert_id, payload, severity, kind, instrument_id, raised_ms, acked_at, acked_by, "
      "resolved_at, resolved_by, outcome, note, escalation_level, next_escalation_ms";

  static AlertState ReadAlert(Stmt& st) {
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

  Result<std::vector<AlertState>> QueryAlerts(const std::string& where,
                                              const std::function<void(Stmt&)>& bind) {
    std::string sql = std::string("SELECT ") + kAlertColumns + " FROM alerts " + where;
    Stmt st(db_, sql.c_str());
    if (!st.ok()) return Error("preparing alert query");
    bind(st);
    std::vector<AlertState> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadAlert(st));
    if (rc != SQLITE_DONE) return Error("alert query");
    return out;
  }

  Result<std::optional<AlertState>> GetAlert(const std::string& alert_id) override {
    auto rows = QueryAlerts("WHERE alert_id = ?1", [&](Stmt& st) { st.Bind(1, alert_id); });
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<AlertState>();
    return std::optional<AlertState>(std::move(rows->front()));
  }

  Status AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) override {
    Stmt st(
        db_,
        "UPDATE alerts SET acked_at = COALESCE(acked_at, ?2), acked_by = COALESCE(acked_by, ?3), "
        "next_escalation_ms = NULL WHERE alert_id = ?1");
    if (!st.ok()) return Error("preparing ack");
    st.Bind(1, alert_id).Bind(2, FormatRfc3339(at)).Bind(3, by);
    return StepDone(st, "ack");
  }

  Status ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                      const std::string& outcome, const std::string& note) override {
    Stmt st(
        db_,
        "UPDATE alerts SET acked_at = COALESCE(acked_at, ?2), acked_by = COALESCE(acked_by, ?3), "
        "resolved_at = ?2, resolved_by = ?3, outcome = ?4, note = ?5, "
        "next_escalation_ms = NULL WHERE alert_id = ?1");
    if (!st.ok()) return Error("preparing resolve");
    st.Bind(1, alert_id).Bind(2, FormatRfc3339(at)).Bind(3, by).Bind(4, outcome);
    st.BindOrNull(5, note);
    return StepDone(st, "resolve");
  }

  Status SetEscalation(const std::string& alert_id, int level,
                       std::optional<TimePoint> next_at) override {
    Stmt st(db_,
            "UPDATE alerts SET escalation_level = ?2, next_escalation_ms = ?3 WHERE alert_id = ?1");
    if (!st.ok()) return Error("preparing escalation update");
    st.Bind(1, alert_id).Bind(2, static_cast<int64_t>(level));
    if (next_at) st.Bind(3, next_at->time_since_epoch().count());
    return StepDone(st, "escalation update");
  }

  Result<std::vector<AlertState>> DueEscalations(TimePoint now) override {
    return QueryAlerts(
        "WHERE next_escalation_ms IS NOT NULL AND next_escalation_ms <= ?1 AND acked_at IS NULL "
        "AND outcome IS NULL ORDER BY next_escalation_ms, seq",
        [&](Stmt& st) { st.Bind(1, now.time_since_epoch().count()); });
  }

  Result<std::optional<TimePoint>> NextEscalationDeadline() override {
    Stmt st(db_, "SELECT MIN(next_escalation_ms) FROM alerts WHERE next_escalation_ms IS NOT NULL");
    if (!st.ok() || st.Step() != SQLITE_ROW) return Error("reading next deadline");
    if (st.IsNull(0)) return std::optional<TimePoint>();
    return std::optional<TimePoint>(TimePoint(Millis(st.Int(0))));
  }

  Result<std::vector<AlertState>> OpenAlerts(const std::string& recipient) override {
    if (recipient.empty()) {
      return QueryAlerts("WHERE outcome IS NULL AND severity != 'info' ORDER BY seq", [](Stmt&) {});
    }
    return QueryAlerts(
        "WHERE outcome IS NULL AND severity != 'info' AND seq IN "
        "(SELECT alert_seq FROM alert_recipients WHERE recipient = ?1) ORDER BY seq",
        [&](Stmt& st) { st.Bind(1, recipient); });
  }

  Result<std::vector<HistoryRow>> PersonHistory(const std::string& person_id) override {
    std::vector<HistoryRow> out;
    {
      Stmt st(db_,
              "SELECT effective_ms, change, instrument_id, version, body, end_reason, recorded_at "
              "FROM instrument_versions WHERE instrument_id IN "
              "(SELECT instrument_id FROM instrument_versions WHERE subject = ?1) ORDER BY rowid_");
      if (!st.ok()) return Error("preparing history (instruments)");
      st.Bind(1, person_id);
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
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
      }
      if (rc != SQLITE_DONE) return Error("history (instruments)");
    }
    {
      Stmt st(db_,
              "SELECT event_time, type, payload FROM inbound WHERE person_id = ?1 AND "
              "result = 'handled' AND type LIKE 'custody.%' ORDER BY rowid_");
      if (!st.ok()) return Error("preparing history (custody)");
      st.Bind(1, person_id);
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        auto t = ParseRfc3339(st.Text(0));
        out.push_back({t.value_or(TimePoint{}),
                       st.Text(1) == "custody.arrested" ? "arrest" : "release", st.Text(2)});
      }
      if (rc != SQLITE_DONE) return Error("history (custody)");
    }
    {
      Stmt st(db_,
              "SELECT event_time, kind, payload, acked_at, acked_by, resolved_at, resolved_by, "
              "outcome, note FROM alerts WHERE person_id = ?1 AND kind != 'check_result' "
              "ORDER BY seq");
      if (!st.ok()) return Error("preparing history (alerts)");
      st.Bind(1, person_id);
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
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
      }
      if (rc != SQLITE_DONE) return Error("history (alerts)");
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const HistoryRow& a, const HistoryRow& b) { return a.time < b.time; });
    return out;
  }

 private:
  struct AuditHead {
    int64_t last_id = 0;
    std::string last_hash = kAuditGenesisHash;
  };

  Status WriteAuditRow(const AuditRow& row) {
    static constexpr char kSql[] =
        "INSERT INTO audit_log (id, at, category, actor, op, subjects, reason, outcome, "
        "detail, recipients, prev_hash, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    Stmt st(Cached(kSql));
    if (!st.ok()) return Error("preparing audit insert");
    st.Bind(1, row.id).Bind(2, row.at).Bind(3, row.category).Bind(4, row.actor).Bind(5, row.op);
    st.Bind(6, row.subjects).Bind(7, row.reason).Bind(8, row.outcome).Bind(9, row.detail);
    st.Bind(10, row.recipients).Bind(11, row.prev_hash).Bind(12, row.hash);
    return StepDone(st, "audit insert");
  }

  // Migration 3: gives the rows written before the chain existed their place in it.
  Status ChainExistingAuditRows() {
    std::vector<AuditRow> rows;
    Status read = ForEachAuditRow(db_, [&](const AuditRow& r) {
      rows.push_back(r);
      return true;
    });
    if (!read.ok()) return read;
    Status s = Exec("DELETE FROM audit_log");
    std::string prev = kAuditGenesisHash;
    int64_t id = 0;
    for (auto& r : rows) {
      if (!s.ok()) break;
      r.id = ++id;  // renumbered without gaps, in order
      r.prev_hash = prev;
      r.hash = AuditRowHash(r);
      prev = r.hash;
      s = WriteAuditRow(r);
    }
    return s;
  }

  Status LoadAuditHead() {
    AuditHead head;
    {
      Stmt st(db_, "SELECT purged_through, hash FROM audit_anchor ORDER BY id DESC LIMIT 1");
      if (!st.ok()) return Error("reading the audit anchor");
      if (st.Step() == SQLITE_ROW) head = {st.Int(0), st.Text(1)};
    }
    Stmt st(db_, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1");
    if (!st.ok()) return Error("reading the audit head");
    if (st.Step() == SQLITE_ROW) head = {st.Int(0), st.Text(1)};
    committed_audit_ = pending_audit_ = head;
    return Status::Ok();
  }

  // The subject of an instrument, from its newest stored version (for an
  // `ended` change, which carries no instrument).
  std::string SubjectOf(const std::string& instrument_id) {
    Stmt st(db_,
            "SELECT subject FROM instrument_versions WHERE instrument_id = ?1 AND subject IS NOT "
            "NULL ORDER BY version DESC LIMIT 1");
    if (!st.ok()) return "";
    st.Bind(1, instrument_id);
    return st.Step() == SQLITE_ROW ? st.Text(0) : "";
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::IoError(std::string("sqlite: ") + msg);
  }
  Status Error(const std::string& what) {
    return Status::IoError("sqlite: " + what + ": " + sqlite3_errmsg(db_));
  }
  Status StepDone(Stmt& st, const char* what) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::Ok();
    return Error(what);
  }

  // Statements used for every message (intake, audit, alerts), prepared once.
  // Keyed by the address of their SQL text, a string literal.
  sqlite3_stmt* Cached(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return nullptr;
    }
    cache_.emplace(sql, st);
    return st;
  }

  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
  // The newest audit row, written (pending) and committed; the chain continues
  // from pending and falls back to committed when a transaction rolls back.
  AuditHead committed_audit_;
  AuditHead pending_audit_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("cannot open store " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  Status s = store->Init();
  if (!s.ok()) return Status::IoError("store " + path + ": " + s.message());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bw
