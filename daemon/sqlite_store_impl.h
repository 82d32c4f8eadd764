// SqliteStore: the SQLite implementation of Store (store.h), declared here so
// that its parts can live in files by concern:
//   sqlite_store.cc        opening, pragmas, transactions, the audit append;
//   sqlite_store_write.cc  the write path (inbound, instruments, alerts, retention);
//   sqlite_store_read.cc   the read path (duplicates, replay, alerts, history, counts);
//   sqlite_schema.cc       migrations;  sqlite_audit_log.cc  the audit hash chain;
//   sqlite_checkpointer.*  WAL checkpoints on a thread and connection of their own;
//   sqlite_db.h            statements, the prepared-once cache.
// Only those files include this header; everything else uses OpenSqliteStore.
//
// Thread-safety: not synchronised; one owner thread (see store.h).  The checkpointer it starts
// runs on its own thread with its own connection and shares nothing else with the store.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/sqlite_audit_log.h"
#include "daemon/sqlite_checkpointer.h"
#include "daemon/sqlite_db.h"
#include "daemon/store.h"

namespace bw {

class SqliteStore final : public Store {
 public:
  // Takes ownership of the open handle `db`; call Init() before anything else.
  explicit SqliteStore(sqlite3* db) : db_(db), audit_(db_) {}

  // Connection pragmas (WAL, synchronous=FULL, page cache, no checkpoint at commit), schema
  // migrations, audit head; starts the background checkpointer on the database file at `path`.
  [[nodiscard]] Status Init(const std::string& path);

  // Transactions and the audit log (sqlite_store.cc).
  Status Begin() override;
  Status Commit() override;
  void Rollback() override;
  Status InsertAudit(const AuditRecord& record) override;

  // The write path (sqlite_store_write.cc).
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

  // The read path (sqlite_store_read.cc).
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override;
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override;
  Result<std::optional<std::string>> InstrumentRaw(const std::string& instrument_id,
                                                   int64_t version) override;
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
  Result<int64_t> MaxAlertSeq() override;
  Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) override;
  Result<StoreCounts> Counts() override;
  Result<int64_t> CountAlerts(const std::string& person_id,
                              const std::vector<std::string>& kinds) override;

 private:
  // Alerts matching `where` (SQL after FROM alerts), parameters bound by `bind`.
  Result<std::vector<AlertState>> QueryAlerts(const std::string& where,
                                              const std::function<void(Stmt&)>& bind);
  // The subject of an instrument, from its newest stored version (for an
  // `ended` change, which carries no instrument); empty when unknown.
  std::string SubjectOf(const std::string& instrument_id);

  SqliteDb db_;
  SqliteAuditLog audit_;  // refers to db_
  // Destroyed first: its connection closes before db_'s, which checkpoints the WAL at close.
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace bw
