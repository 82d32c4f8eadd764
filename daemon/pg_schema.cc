// The PostgreSQL store's schema migrations.  See pg_schema.h.
#include "daemon/pg_schema.h"

#include <iterator>
#include <string>

namespace bw {
namespace {

// Migrations, applied in order; table schema_version records how many ran.
const char* const kMigrations[] = {
    // 1: the schema of the SQLite store's version 3, the audit triggers and the fencing term.
    R"sql(
CREATE TABLE inbound (
  rowid_ BIGSERIAL PRIMARY KEY,
  received_at TEXT NOT NULL,
  channel TEXT NOT NULL,
  topic TEXT NOT NULL,
  source TEXT,
  msg_id TEXT,
  seq BIGINT,
  type TEXT,
  event_time TEXT,
  payload BYTEA NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('handled', 'rejected')),
  reason TEXT,
  detail TEXT,
  person_id TEXT
);
CREATE UNIQUE INDEX inbound_handled_once ON inbound(source, msg_id) WHERE result = 'handled';
CREATE INDEX inbound_rejected ON inbound(result, received_at);
CREATE INDEX inbound_person ON inbound(person_id) WHERE person_id IS NOT NULL;

CREATE TABLE instrument_versions (
  rowid_ BIGSERIAL PRIMARY KEY,
  instrument_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  change TEXT NOT NULL CHECK (change IN ('granted', 'varied', 'ended')),
  effective TEXT NOT NULL,
  effective_ms BIGINT NOT NULL,
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
  seq BIGINT PRIMARY KEY,
  alert_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  person_id TEXT,
  instrument_id TEXT,
  raised_at TEXT NOT NULL,
  event_time TEXT NOT NULL,
  payload TEXT NOT NULL,
  acked_at TEXT,
  acked_by TEXT,
  resolved_at TEXT,
  resolved_by TEXT,
  outcome TEXT,
  note TEXT,
  raised_ms BIGINT NOT NULL DEFAULT 0,
  escalation_level INTEGER NOT NULL DEFAULT 0,
  next_escalation_ms BIGINT
);
CREATE INDEX alerts_person ON alerts(person_id);
CREATE INDEX alerts_escalation ON alerts(next_escalation_ms) WHERE next_escalation_ms IS NOT NULL;
CREATE INDEX alerts_open ON alerts(seq) WHERE outcome IS NULL AND severity != 'info';

CREATE TABLE alert_recipients (
  alert_seq BIGINT NOT NULL REFERENCES alerts(seq),
  recipient TEXT NOT NULL,
  PRIMARY KEY (alert_seq, recipient)
);

CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  op TEXT NOT NULL,
  subjects TEXT,
  reason TEXT,
  outcome TEXT NOT NULL,
  detail TEXT,
  category TEXT NOT NULL DEFAULT 'consultation',
  recipients TEXT,
  prev_hash TEXT,
  hash TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TABLE audit_anchor (
  id BIGSERIAL PRIMARY KEY,
  purged_through BIGINT NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL
);

-- Append-only: rows of audit_log can be neither changed nor deleted, except rows already covered
-- by a purge anchor and more than 365 days old (by the server's clock, whatever the daemon was
-- told).  TRUNCATE, which skips row triggers, is refused outright.
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'audit_log is append-only: rows cannot be changed';
  END IF;
  IF OLD.id > COALESCE((SELECT MAX(purged_through) FROM audit_anchor), 0)
     OR OLD.at::timestamptz > now() - interval '365 days' THEN
    RAISE EXCEPTION 'audit_log is append-only: only a purge of rows older than 365 days may delete';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE FUNCTION audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_anchor_append_only BEFORE UPDATE OR DELETE ON audit_anchor
  FOR EACH ROW EXECUTE FUNCTION audit_anchor_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_anchor_guard();
CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
  FOR EACH STATEMENT EXECUTE FUNCTION audit_anchor_guard();

-- The fencing term of active/standby: incremented by each takeover, checked by every commit of
-- a fenced store (daemon/pg_store.h).
CREATE TABLE leadership (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  term BIGINT NOT NULL,
  holder TEXT,
  since TEXT
);
INSERT INTO leadership (id, term) VALUES (1, 0);
)sql",
};

}  // namespace

Status MigratePostgresSchema(PgConn& conn) {
  Status s = conn.Run("BEGIN", "schema migration");
  if (!s.ok()) return s;
  auto fail = [&](Status why) {
    conn.Run("ROLLBACK", "schema migration").ok();
    return Status::Unavailable("postgresql schema migration failed: " + why.message());
  };
  // Daemons opening the same cluster at once migrate one after the other.
  auto locked = conn.Exec("SELECT pg_advisory_xact_lock($1)", {PgInt(kPgMigrationLockKey)},
                          "migration lock");
  if (!locked.ok()) return fail(locked.status());
  s = conn.Run("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
               "schema version table");
  if (!s.ok()) return fail(s);
  auto v = conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_version", {},
                     "reading schema version");
  if (!v.ok()) return fail(v.status());
  const int64_t version = v->Int(0, 0);
  const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
  if (version > latest) {
    conn.Run("ROLLBACK", "schema migration").ok();
    return Status::Unavailable("store schema version " + std::to_string(version) +
                               " is newer than this breachwatchd supports (" +
                               std::to_string(latest) + ")");
  }
  for (int64_t i = version; i < latest; ++i) {
    s = conn.Run(kMigrations[i], "schema migration");
    if (!s.ok()) return fail(s);
  }
  if (version < latest) {
    s = conn.Run("DELETE FROM schema_version; INSERT INTO schema_version VALUES (" +
                     std::to_string(latest) + ")",
                 "schema version");
    if (!s.ok()) return fail(s);
  }
  s = conn.Run("COMMIT", "schema migration");
  if (!s.ok()) return fail(s);
  return Status::Ok();
}

}  // namespace bw
