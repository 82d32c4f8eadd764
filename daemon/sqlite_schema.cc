// The SQLite store's schema migrations.  See sqlite_schema.h.
#include "daemon/sqlite_schema.h"

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "daemon/audit_chain.h"
#include "daemon/sqlite_audit_log.h"

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
    // 4: the hot path writes only the index entries a query reads (issue 14).  Every inbound row
    //    went into inbound_rejected (only dead letters are ever looked up by it: retention and
    //    the rejected count) and every person-bearing one into inbound_person (only custody
    //    events are looked up by person: history.person).  The (source, msg_id) uniqueness of
    //    handled rows stays: the duplicate backstop behind the matcher's memory.
    R"sql(
DROP INDEX inbound_rejected;
CREATE INDEX inbound_dead_letters ON inbound(received_at) WHERE result = 'rejected';
DROP INDEX inbound_person;
CREATE INDEX inbound_custody ON inbound(person_id)
  WHERE result = 'handled' AND type IN ('custody.arrested', 'custody.released');
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

// Migration 3: gives the rows written before the chain existed their place in it.
Status ChainExistingAuditRows(SqliteDb& db) {
  std::vector<AuditRow> rows;
  Status read = ForEachAuditRow(db.handle(), [&](const AuditRow& r) {
    rows.push_back(r);
    return true;
  });
  if (!read.ok()) return read;
  Status s = db.Exec("DELETE FROM audit_log");
  std::string prev = kAuditGenesisHash;
  int64_t id = 0;
  for (auto& r : rows) {
    if (!s.ok()) break;
    r.id = ++id;  // renumbered without gaps, in order
    r.prev_hash = prev;
    r.hash = AuditRowHash(r);
    prev = r.hash;
    s = WriteAuditRow(db, r);
  }
  return s;
}

}  // namespace

Status MigrateSchema(SqliteDb& db) {
  int64_t version = 0;
  {
    // Finalised before the migrations run: DROP INDEX refuses while a statement is pending.
    Stmt v(db.handle(), "PRAGMA user_version");
    if (!v.ok() || v.Step() != SQLITE_ROW) return db.Error("reading schema version");
    version = v.Int(0);
  }
  const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
  if (version > latest) {
    return Status::Unavailable("store schema version " + std::to_string(version) +
                               " is newer than this breachwatchd supports (" +
                               std::to_string(latest) + ")");
  }
  for (int64_t i = version; i < latest; ++i) {
    Status s = db.Exec("BEGIN IMMEDIATE");
    if (s.ok()) s = db.Exec(kMigrations[i]);
    if (s.ok() && i + 1 == kAuditChainMigration) {
      s = ChainExistingAuditRows(db);
      if (s.ok()) s = db.Exec(kAuditTriggers);
    }
    if (s.ok()) s = db.Exec(("PRAGMA user_version=" + std::to_string(i + 1)).c_str());
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      db.Exec("ROLLBACK").ok();
      return Status::Unavailable("schema migration " + std::to_string(i + 1) +
                                 " failed: " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace bw
