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
// A lost session is reconnected at the next Begin(); an error inside a transaction rolls it back
// (as a failed SQLite commit does) and the caller retries the whole batch (daemon/pipeline.h).
//
// Thread-safety: not synchronised; one owner thread (see store.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>& fn) override;
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
  // Runs one statement (reconnecting first a session lost outside a transaction).
  Result<PgResult> Exec(const char* sql, const std::vector<PgParam>& params, const char* what) {
    if (!in_transaction_ && !conn_->alive()) {
      if (Status s = EnsureSession(); !s.ok()) return s;
    }
    return conn_->Exec(sql, params, what);
  }
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
};

// Opens the PostgreSQL store at `conninfo` as a Store.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

// Reads the audit chain of the PostgreSQL store at `conninfo` (own session, read only), in id
// order until `fn` returns false; and walks it as VerifyAuditLog does for SQLite.
[[nodiscard]] Status ForEachPostgresAuditRow(const std::string& conninfo,
                                             const std::function<bool(const AuditRow&)>& fn);
[[nodiscard]] Result<AuditVerifyReport> VerifyPostgresAuditLog(const std::string& conninfo);

}  // namespace bw
