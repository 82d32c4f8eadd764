// PgStore: the PostgreSQL implementation of Store (store.h), for daemons that share one
// PostgreSQL cluster (active/standby, docs/ha.md).  Same tables, same meaning, same audit hash
// chain (daemon/audit_chain.h) and the same retention rule as the SQLite store: audit rows
// younger than 365 days cannot be deleted whatever the caller asks (row triggers, which also
// refuse UPDATE and TRUNCATE).
//
// Fencing: the store keeps a fencing term (0 = none).  When it is set, every commit checks,
// inside its own transaction, that the cluster's `leadership` row still holds that term (taking a
// share lock on the row, so a takeover that increments it waits for the commit in flight and
// every later commit of this store is refused).  A daemon that was paused, or lost its session,
// while another took over can therefore never write again: its commits fail with Unavailable
// ("fenced").  Taking over (Leadership, daemon/leadership.h) increments the term in the same
// session that holds the cluster's advisory lock.
//
// Group commit: a transaction's statements are queued in libpq's pipeline mode (pg_conn.h) and
// reach the server together with the fencing check and the COMMIT, so a batch costs one round
// trip (plus one per read inside it, and one per 1,024 inbound rows to reserve their ids) instead
// of one per statement.  The audit chain is computed here (each row's id and prev_hash follow
// the queued row before it; the server runs them in that order) and its head only advances when
// the COMMIT succeeded.  Any failed statement fails the whole transaction: Commit() (or the first
// read after it) returns the first failure, naming the statement, and nothing of it is kept.
// Inbound row ids are reserved from the table's sequence ahead of their rows (the journal needs
// them before the commit); they rise in commit order as long as one store writes (the fenced
// active).
//
// A lost session is reconnected at the next Begin(); an error inside a transaction rolls it back
// (as a failed SQLite commit does) and the caller retries the whole batch (daemon/pipeline.h).
//
// Thread-safety: not synchronised; one owner thread (see store.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/audit_chain.h"
#include "daemon/pg_conn.h"
#include "daemon/store.h"

namespace bw {

class PgStore final : public Store {
 public:
  // Connects, migrates the schema (serialised between daemons by an advisory lock).
  static Result<std::unique_ptr<PgStore>> Open(const std::string& conninfo);

  Status Begin() override;
  Status Commit() override;
  void Rollback() override;
  Status InsertAudit(const AuditRecord& record) override;

  Result<int64_t> InsertInbound(const InboundRecord& record) override;
  Status InsertInstrumentChange(const InstrumentChange& change, const std::string& caused_by_source,
                                const std::string& caused_by_id, TimePoint recorded_at) override;
  Status InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) override;
  Status AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) override;
  Status ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                      const std::string& outcome, const std::string& note) override;
  Status SetEscalation(const std::string& alert_id, int level,
                       std::optional<TimePoint> next_at) override;
  Result<PurgeResult> Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                            TimePoint audit_before) override;

  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override;
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override;
  Result<std::optional<std::string>> InstrumentRaw(const std::string& instrument_id,
                                                   int64_t version) override;  // pg_store.cc
  Result<std::optional<AlertState>> GetAlert(const std::string& alert_id) override;
  Result<std::vector<AlertState>> DueEscalations(TimePoint now) override;
  Result<std::optional<TimePoint>> NextEscalationDeadline() override;
  Result<std::vector<AlertState>> OpenAlerts(const std::string& recipient, int64_t after_seq,
                                             std::optional<TimePoint> raised_by,
                                             int limit) override;
  Result<std::vector<HistoryRow>> PersonHistory(const std::string& person_id) override;
  Status ForEachHandled(int64_t after_row, const HandledRowFn& fn) override;
  Status ForEachHandledKey(const HandledKeyFn& fn) override;
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>& fn) override;
  Result<HandledTail> HandledAfter(int64_t after_row) override;
  Result<int64_t> MaxAlertSeq() override;
  Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) override;
  Result<StoreCounts> Counts() override;
  Result<int64_t> CountAlerts(const std::string& person_id,
                              const std::vector<std::string>& kinds) override;

  // Fencing (see above).  `term` 0 turns the check off (stores opened without leadership: tools
  // and tests).  After FenceOut() every commit is refused until a new term is set.
  void SetFencingTerm(int64_t term);
  void FenceOut() { fenced_out_ = true; }
  int64_t fencing_term() const { return fencing_term_; }

  // Reconnects a lost session (outside a transaction only).  A fenced store that loses its
  // session is fenced out: the advisory lock went with the session (daemon/pg_leadership.h).
  [[nodiscard]] Status EnsureSession();

  // The session, for the leadership that must share it (daemon/pg_leadership.h).
  PgConn& conn() { return *conn_; }

 private:
  explicit PgStore(std::unique_ptr<PgConn> conn) : conn_(std::move(conn)) {}
  Status Migrate();
  // Runs `work` in the open transaction, or in one of its own when none is open.
  Status InTransaction(const std::function<Status()>& work);
  // Runs one statement and waits for its result (reconnecting first a session lost outside a
  // transaction; inside one, sending the statements queued before it).
  Result<PgResult> Exec(const char* sql, const std::vector<PgParam>& params, const char* what);
  // Queues a write of the open transaction (its failure surfaces at Commit()).
  Status Queue(const char* sql, const std::vector<PgParam>& params, const char* what);
  // The next reserved inbound row id (reserving a block when none is left).
  Result<int64_t> NextInboundRow();
  static std::string FencingCheckSql(int64_t term);
  Status LoadAuditHead();
  Result<std::vector<AlertState>> QueryAlerts(const std::string& where,
                                              const std::vector<PgParam>& params);
  std::string SubjectOf(const std::string& instrument_id);

  struct AuditHead {
    int64_t last_id = 0;
    std::string last_hash = kAuditGenesisHash;
  };

  std::unique_ptr<PgConn> conn_;
  bool in_transaction_ = false;
  // The audit chain's head: committed, and pending inside a transaction.  Read from the table at
  // the first transaction after open, a reconnect or a change of term (another daemon may have
  // written since).
  bool head_known_ = false;
  AuditHead committed_;
  AuditHead pending_;
  int64_t fencing_term_ = 0;
  bool fenced_out_ = false;
  // The first failure inside the open transaction (then every later statement and the commit
  // fail with it).
  Status failure_ = Status::Ok();
  // Inbound row ids reserved from the sequence, not used yet.
  static constexpr int kRowIdBlock = 1024;
  std::vector<int64_t> row_ids_;
  size_t row_ids_next_ = 0;
};

// The SQLSTATE of the fencing check's error (a commit under a superseded term).
inline constexpr char kFencedSqlState[] = "BWFEN";

// Opens the PostgreSQL store at `conninfo` as a Store.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

// Reads the audit chain of the PostgreSQL store at `conninfo` (own session, read only), in id
// order until `fn` returns false; and walks it as VerifyAuditLog does for SQLite.
[[nodiscard]] Status ForEachPostgresAuditRow(const std::string& conninfo,
                                             const std::function<bool(const AuditRow&)>& fn);
[[nodiscard]] Result<AuditVerifyReport> VerifyPostgresAuditLog(const std::string& conninfo);
// As ExportAuditLog (audit_chain.h) for the PostgreSQL store at `conninfo`: rows with
// `from <= at < to` (RFC 3339; empty = open) as JSON lines, oldest first.
[[nodiscard]] Result<int64_t> ExportPostgresAuditLog(const std::string& conninfo,
                                                     const std::string& from, const std::string& to,
                                                     std::ostream& out);

}  // namespace bw
