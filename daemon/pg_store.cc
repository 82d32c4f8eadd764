// PostgreSQL implementation of Store: opening, sessions, transactions, fencing and the audit
// chain.  The write and read paths are in pg_store_rw.cc.  See pg_store.h.
#include "daemon/pg_store.h"

#include <algorithm>
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
  // Row ids reserved before (another daemon may have written since) would no longer be the
  // newest: take new ones.
  row_ids_.clear();
  row_ids_next_ = 0;
  return Status::Ok();
}

Status PgStore::Begin() {
  if (in_transaction_) Rollback();  // a transaction left open by a failed caller
  if (Status s = EnsureSession(); !s.ok()) return s;
  // The transaction's statements are queued and go to the server with its COMMIT (one round
  // trip); a read in between (the audit head below, a subject, a purge) sends what is queued.
  if (Status s = conn_->EnterPipeline(); !s.ok()) return s;
  if (Status s = conn_->Send("BEGIN", {}, "begin"); !s.ok()) {
    conn_->ExitPipeline();
    return s;
  }
  in_transaction_ = true;
  failure_ = Status::Ok();
  if (!head_known_) {
    if (Status s = LoadAuditHead(); !s.ok()) {
      Rollback();
      return s;
    }
  }
  pending_ = committed_;
  return Status::Ok();
}

std::string PgStore::FencingCheckSql(int64_t term) {
  // Inside the transaction, just before its COMMIT and in the same round trip: the term is read
  // FOR SHARE (a takeover's UPDATE of the row waits for this commit, and sees it), and a
  // superseded term raises an error, which aborts the transaction so that the COMMIT after it
  // rolls back.  The term is this store's own integer, not caller text.
  const std::string t = std::to_string(term);
  return "DO $$DECLARE current BIGINT; BEGIN "
         "SELECT term INTO current FROM leadership WHERE id = 1 FOR SHARE; "
         "IF current IS DISTINCT FROM " +
         t + " THEN RAISE EXCEPTION USING ERRCODE = '" + kFencedSqlState +
         "', MESSAGE = format('fenced: this daemon''s term %s was superseded by term %s "
         "(another daemon took over)', " +
         t + ", COALESCE(current, 0)); END IF; END$$";
}

Status PgStore::Commit() {
  if (!in_transaction_) return Status::Internal("commit without a transaction");
  if (fenced_out_) {
    Rollback();
    return Status::Unavailable("fenced: this daemon lost leadership (term " +
                               std::to_string(fencing_term_) + ") and may not write");
  }
  if (!failure_.ok()) {  // a statement of this transaction already failed
    Status why = failure_;
    Rollback();
    return why;
  }
  Status queued = Status::Ok();
  if (fencing_term_ > 0) {
    queued = conn_->Send(FencingCheckSql(fencing_term_).c_str(), {}, "fencing check");
  }
  if (queued.ok()) queued = conn_->Send("COMMIT", {}, "commit");
  Result<PgResult> done = queued.ok() ? conn_->Sync() : Result<PgResult>(queued);
  if (!done.ok()) {
    // The server skipped the COMMIT after the failure and holds an aborted transaction (or the
    // session is gone): roll it back; the head is read again at the next Begin().
    const bool fenced = conn_->last_sqlstate() == kFencedSqlState;
    Rollback();
    head_known_ = false;
    if (fenced) return Status::Unavailable(done.status().message());
    return done.status();
  }
  conn_->ExitPipeline();
  in_transaction_ = false;
  if (done->command() != "COMMIT") {
    // The server rolls back a transaction in which a statement failed.
    pending_ = committed_;
    head_known_ = false;
    return Status::IoError("commit: the transaction had failed and was rolled back");
  }
  committed_ = pending_;
  return Status::Ok();
}

void PgStore::Rollback() {
  // What is still queued is sent and its results discarded first: a ROLLBACK queued after a
  // failed statement would be skipped by the server with it.
  conn_->ExitPipeline();
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

Result<PgResult> PgStore::Exec(const char* sql, const std::vector<PgParam>& params,
                               const char* what) {
  if (!in_transaction_) {
    if (!conn_->alive()) {
      if (Status s = EnsureSession(); !s.ok()) return s;
    }
    return conn_->Exec(sql, params, what);
  }
  if (!failure_.ok()) return failure_;
  auto r = conn_->Exec(sql, params, what);  // in the pipeline: sends what is queued before it
  if (!r.ok()) failure_ = r.status();
  return r;
}

Status PgStore::Queue(const char* sql, const std::vector<PgParam>& params, const char* what) {
  if (!in_transaction_) return Status::Internal(std::string(what) + ": outside a transaction");
  if (!failure_.ok()) return failure_;
  Status s = conn_->Send(sql, params, what);
  if (!s.ok()) failure_ = s;
  return s;
}

Result<int64_t> PgStore::NextInboundRow() {
  if (row_ids_next_ >= row_ids_.size()) {
    // One round trip per kRowIdBlock rows.  nextval() is never rolled back, so the ids are this
    // store's alone; a single writer (the fenced active) therefore writes them in commit order.
    auto r = Exec(
        "SELECT nextval(pg_get_serial_sequence('inbound', 'rowid_')) "
        "FROM generate_series(1, $1)",
        {PgInt(kRowIdBlock)}, "reserving inbound row ids");
    if (!r.ok()) return r.status();
    row_ids_.clear();
    for (int i = 0; i < r->rows(); ++i) row_ids_.push_back(r->Int(i, 0));
    std::sort(row_ids_.begin(), row_ids_.end());
    row_ids_next_ = 0;
    if (row_ids_.empty()) return Status::Internal("reserving inbound row ids: none returned");
  }
  return row_ids_[row_ids_next_++];
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
    // Queued: the chain's head advances as rows are queued, in the order the server runs them;
    // a failed commit puts it back (and Begin() reads it from the table again).
    Status st = Queue(
        "INSERT INTO audit_log (id, at, category, actor, op, subjects, reason, outcome, detail, "
        "recipients, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        {PgInt(row.id), PgText(row.at), PgText(row.category), PgText(row.actor), PgText(row.op),
         PgText(row.subjects), PgText(row.reason), PgText(row.outcome), PgText(row.detail),
         PgText(row.recipients), PgText(row.prev_hash), PgText(row.hash)},
        "audit insert");
    if (!st.ok()) return st;
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

namespace {

// The audit rows of the store at `conninfo` in id order (own session, read only), those with
// `from <= at < to` when given, until `fn` returns false.
Status ForEachAuditRowBetween(const std::string& conninfo, const std::string& from,
                              const std::string& to,
                              const std::function<bool(const AuditRow&)>& fn) {
  auto conn = PgConn::Connect(conninfo);
  if (!conn.ok()) return conn.status();
  // In batches by id, so that a long log is never held in memory at once.
  int64_t after = -1;
  for (;;) {
    std::vector<PgParam> params = {PgInt(after)};
    std::string sql =
        "SELECT id, at, category, actor, op, subjects, reason, outcome, detail, recipients, "
        "prev_hash, hash FROM audit_log WHERE id > $1";
    if (!from.empty()) {
      params.push_back(PgText(from));
      sql += " AND at::timestamptz >= $" + std::to_string(params.size()) + "::timestamptz";
    }
    if (!to.empty()) {
      params.push_back(PgText(to));
      sql += " AND at::timestamptz < $" + std::to_string(params.size()) + "::timestamptz";
    }
    sql += " ORDER BY id LIMIT 5000";
    auto rows = (*conn)->Exec(sql.c_str(), params, "reading the audit log");
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

}  // namespace

Status ForEachPostgresAuditRow(const std::string& conninfo,
                               const std::function<bool(const AuditRow&)>& fn) {
  return ForEachAuditRowBetween(conninfo, "", "", fn);
}

Result<int64_t> ExportPostgresAuditLog(const std::string& conninfo, const std::string& from,
                                       const std::string& to, std::ostream& out) {
  int64_t n = 0;
  Status s = ForEachAuditRowBetween(conninfo, from, to, [&](const AuditRow& r) {
    out << AuditRowJson(r) << '\n';
    ++n;
    return static_cast<bool>(out);
  });
  if (!s.ok()) return s;
  if (!out) return Status::Unavailable("writing the export failed");
  return n;
}

Result<Store::HandledTail> PgStore::HandledAfter(int64_t after_row) {
  // Counted on the primary key's range: O(the tail), however long the journal.
  auto r = Exec(
      "SELECT (SELECT COUNT(*) FROM inbound WHERE result = 'handled' AND rowid_ > $1),"
      " (SELECT received_at FROM inbound WHERE result = 'handled' AND rowid_ > $1"
      " ORDER BY rowid_ LIMIT 1)",
      {PgInt(after_row)}, "journal tail");
  if (!r.ok()) return r.status();
  HandledTail tail;
  if (r->rows() == 1) {
    tail.rows = r->Int(0, 0);
    if (!r->IsNull(0, 1)) tail.oldest_received_at = ParseRfc3339(r->Text(0, 1));
  }
  return tail;
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
