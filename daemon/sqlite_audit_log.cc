// The SQLite store's audit-log writer.  See sqlite_audit_log.h.
#include "daemon/sqlite_audit_log.h"

#include "handlers/base/time_util.h"

namespace bw {

Status WriteAuditRow(SqliteDb& db, const AuditRow& row) {
  static constexpr char kSql[] =
      "INSERT INTO audit_log (id, at, category, actor, op, subjects, reason, outcome, "
      "detail, recipients, prev_hash, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
  Stmt st(db.Cached(kSql));
  if (!st.ok()) return db.Error("preparing audit insert");
  st.Bind(1, row.id).Bind(2, row.at).Bind(3, row.category).Bind(4, row.actor).Bind(5, row.op);
  st.Bind(6, row.subjects).Bind(7, row.reason).Bind(8, row.outcome).Bind(9, row.detail);
  st.Bind(10, row.recipients).Bind(11, row.prev_hash).Bind(12, row.hash);
  return db.StepDone(st, "audit insert");
}

Status SqliteAuditLog::LoadHead() {
  Head head;
  {
    Stmt st(db_.handle(), "SELECT purged_through, hash FROM audit_anchor ORDER BY id DESC LIMIT 1");
    if (!st.ok()) return db_.Error("reading the audit anchor");
    if (st.Step() == SQLITE_ROW) head = {st.Int(0), st.Text(1)};
  }
  Stmt st(db_.handle(), "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1");
  if (!st.ok()) return db_.Error("reading the audit head");
  if (st.Step() == SQLITE_ROW) head = {st.Int(0), st.Text(1)};
  committed_ = pending_ = head;
  return Status::Ok();
}

Status SqliteAuditLog::Append(const AuditRecord& r) {
  AuditRow row;
  row.id = pending_.last_id + 1;
  row.at = FormatRfc3339(r.at);
  row.category = r.category;
  row.actor = r.actor;
  row.op = r.op;
  row.subjects = r.subjects;
  row.reason = r.reason;
  row.outcome = r.outcome;
  row.detail = r.detail;
  row.recipients = r.recipients;
  row.prev_hash = pending_.last_hash;
  row.hash = AuditRowHash(row);
  Status s = WriteAuditRow(db_, row);
  if (!s.ok()) return s;
  pending_ = {row.id, row.hash};
  if (!db_.InTransaction()) committed_ = pending_;  // written on its own: committed already
  return Status::Ok();
}

}  // namespace bw
