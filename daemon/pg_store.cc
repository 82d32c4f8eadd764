// PostgreSQL implementation of Store: opening, sessions, transactions, fencing and the audit
// chain.  The write and read paths are in pg_store_rw.cc.  See pg_store.h.
#include "daemon/pg_store.h"

#include <string>

#include "daemon/pg_schema.h"
#include "handlers/base/time_util.h"

namespace bw {

Result<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo) {
  auto conn = PgConn::Connect(conninfo);
  if (!conn.ok()) return conn.status();
  std::unique_ptr<PgStore> store(new PgStore(std::move(*conn)));
  if (Status s = store->Migrate(); !s.ok()) return s;
  return store;
}

Status PgStore::Migrate() { return MigratePostgresSchema(*conn_); }

Status PgStore::EnsureSession() {
  if (conn_->alive()) return Status::Ok();
  in_transaction_ = false;
  if (fencing_term_ > 0) fenced_out_ = true;
  head_known_ = false;  // another daemon may have written while this one was away
  return conn_->Reconnect();
}

void PgStore::SetFencingTerm(int64_t term) {
  if (term != fencing_term_) head_known_ = false;
  fencing_term_ = term;
  fenced_out_ = false;
}

Status PgStore::LoadAuditHead() {
  AuditHead head;
  auto anchor = Exec("SELECT purged_through, hash FROM audit_anchor ORDER BY id DESC LIMIT 1", {},
                     "reading the audit anchor");
  if (!anchor.ok()) return anchor.status();
  if (anchor->rows() > 0) head = {anchor->Int(0, 0), anchor->Text(0, 1)};
  auto last = Exec("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", {},
                   "reading the audit head");
  if (!last.ok()) return last.status();
  if (last->rows() > 0) head = {last->Int(0, 0), last->Text(0, 1)};
  committed_ = pending_ = head;
  head_known_ = true;
  return Status::Ok();
}

Status PgStore::Begin() {
  if (in_transaction_) Rollback();  // a transaction left open by a failed caller
  if (Status s = EnsureSession(); !s.ok()) return s;
  if (Status s = conn_->Run("BEGIN", "begin"); !s.ok()) return s;
  in_transaction_ = true;
  if (!head_known_) {
    if (Status s = LoadAuditHead(); !s.ok()) {
      Rollback();
      return s;
    }
  }
  pending_ = committed_;
  return Status::Ok();
}

Status PgStore::Commit() {
  if (!in_transaction_) return Status::Internal("commit without a transaction");
  if (fenced_out_) {
    Rollback();
    return Status::Unavailable("fenced: this daemon lost leadership (term " +
                               std::to_string(fencing_term_) + ") and may not write");
  }
  if (fencing_term_ > 0) {
    // FOR SHARE: a takeover's UPDATE of the row waits for this commit, and sees it.
    auto term = Exec("SELECT term FROM leadership WHERE id = 1 FOR SHARE", {}, "fencing check");
    if (!term.ok()) {
      Rollback();
      return term.status();
    }
    const int64_t current = term->rows() > 0 ? term->Int(0, 0) : 0;
    if (current != fencing_term_) {
      Rollback();
      return Status::Unavailable("fenced: this daemon's term " + std::to_string(fencing_term_) +
                                 " was superseded by term " + std::to_string(current) +
                                 " (another daemon took over)");
    }
  }
  auto done = Exec("COMMIT", {}, "commit");
  if (!done.ok()) {
    Rollback();
    return done.status();
  }
  in_transaction_ = false;
  if (done->command() != "COMMIT") {
    // The server rolls back a transaction in which a statement failed.
    pending_ = committed_;
    return Status::IoError("commit: the transaction had failed and was rolled back");
  }
  committed_ = pending_;
  return Status::Ok();
}

void PgStore::Rollback() {
  if (in_transaction_ && conn_->alive()) conn_->Run("ROLLBACK", "rollback").ok();
  in_transaction_ = false;
  pending_ = committed_;
}

Status PgStore::InTransaction(const std::function<Status()>& work) {
  if (in_transaction_) return work();
  if (Status s = Begin(); !s.ok()) return s;
  Status s = work();
  if (!s.ok()) {
    Rollback();
    return s;
  }
  return Commit();
}

Status PgStore::InsertAudit(const AuditRecord& r) {
  return InTransaction([&]() -> Status {
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
    // The hash covers the text as stored: the server keeps only valid UTF-8.
    for (std::string* f : {&row.at, &row.category, &row.actor, &row.op, &row.subjects, &row.reason,
                           &row.outcome, &row.detail, &row.recipients}) {
      *f = PgSafeText(*f);
    }
    row.hash = AuditRowHash(row);
    auto st = Exec(
        "INSERT INTO audit_log (id, at, category, actor, op, subjects, reason, outcome, detail, "
        "recipients, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        {PgInt(row.id), PgText(row.at), PgText(row.category), PgText(row.actor), PgText(row.op),
         PgText(row.subjects), PgText(row.reason), PgText(row.outcome), PgText(row.detail),
         PgText(row.recipients), PgText(row.prev_hash), PgText(row.hash)},
        "audit insert");
    if (!st.ok()) return st.status();
    pending_ = {row.id, row.hash};
    return Status::Ok();
  });
}

Result<std::optional<std::string>> PgStore::InstrumentRaw(const std::string& instrument_id,
                                                          int64_t version) {
  auto r = Exec(
      "SELECT body FROM instrument_versions WHERE instrument_id=$1 AND version=$2 AND "
      "body IS NOT NULL",
      {PgText(instrument_id), PgInt(version)}, "instrument read");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->Text(0, 0));
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  auto store = PgStore::Open(conninfo);
  if (!store.ok()) return Status::IoError("postgresql store: " + store.status().message());
  return std::unique_ptr<Store>(std::move(*store));
}

Status ForEachPostgresAuditRow(const std::string& conninfo,
                               const std::function<bool(const AuditRow&)>& fn) {
  auto conn = PgConn::Connect(conninfo);
  if (!conn.ok()) return conn.status();
  // In batches by id, so that a long log is never held in memory at once.
  int64_t after = -1;
  for (;;) {
    auto rows = (*conn)->Exec(
        "SELECT id, at, category, actor, op, subjects, reason, outcome, detail, recipients, "
        "prev_hash, hash FROM audit_log WHERE id > $1 ORDER BY id LIMIT 5000",
        {PgInt(after)}, "reading the audit log");
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return Status::Ok();
    for (int i = 0; i < rows->rows(); ++i) {
      AuditRow r;
      r.id = rows->Int(i, 0);
      r.at = rows->Text(i, 1);
      r.category = rows->Text(i, 2);
      r.actor = rows->Text(i, 3);
      r.op = rows->Text(i, 4);
      r.subjects = rows->Text(i, 5);
      r.reason = rows->Text(i, 6);
      r.outcome = rows->Text(i, 7);
      r.detail = rows->Text(i, 8);
      r.recipients = rows->Text(i, 9);
      r.prev_hash = rows->Text(i, 10);
      r.hash = rows->Text(i, 11);
      after = r.id;
      if (!fn(r)) return Status::Ok();
    }
  }
}

Result<AuditVerifyReport> VerifyPostgresAuditLog(const std::string& conninfo) {
  auto conn = PgConn::Connect(conninfo);
  if (!conn.ok()) return conn.status();
  auto anchor = (*conn)->Exec("SELECT purged_through, hash FROM audit_anchor ORDER BY id DESC "
                              "LIMIT 1",
                              {}, "reading the audit anchor");
  if (!anchor.ok()) return anchor.status();
  int64_t purged_through = 0;
  std::string anchor_hash;
  if (anchor->rows() > 0) {
    purged_through = anchor->Int(0, 0);
    anchor_hash = anchor->Text(0, 1);
  }
  return VerifyAuditChain(purged_through, anchor_hash,
                          [&](const std::function<bool(const AuditRow&)>& fn) {
                            return ForEachPostgresAuditRow(conninfo, fn);
                          });
}

}  // namespace bw
