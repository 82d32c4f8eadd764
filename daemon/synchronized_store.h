// SynchronizedStore: a Store decorator that lets two threads share one store (one connection):
// the committer's transactions (daemon/committer.h) and the loop's reads (control queries, the
// matcher's deduplication backstop, ticks, retention).  One transaction at a time: Begin() takes
// the lock and holds it until Commit() succeeds or Rollback() ends the transaction; every other call
// takes it for its own duration.  So a read runs between transactions and sees exactly what the
// last finished one left: an entry decided but not yet committed — or being committed — is never
// visible.  A read that arrives during a commit waits for it (at most one transaction's time).
//
// Exclusive() holds the store between transactions for work that must not interleave with a
// commit on the same connection (PostgreSQL's leadership check, daemon/pg_leadership.h).
//
// Thread-safety: every method from any thread; a transaction's calls all from the thread that
// called Begin().
#pragma once

#include <memory>
#include <mutex>

#include "daemon/store.h"

namespace bw {

class SynchronizedStore final : public Store {
 public:
  explicit SynchronizedStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Store& inner() { return *inner_; }
  [[nodiscard]] std::unique_lock<std::recursive_mutex> Exclusive() {
    return std::unique_lock(mu_);
  }

  Status Begin() override;
  Status Commit() override;
  void Rollback() override;

  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override;
  Result<int64_t> InsertInbound(const InboundRecord& record) override;
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override;
  Status InsertInstrumentChange(const InstrumentChange& change, const std::string& caused_by_source,
                                const std::string& caused_by_id, TimePoint recorded_at) override;
  Status InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) override;
  Result<std::optional<AlertState>> GetAlert(const std::string& alert_id) override;
  Status AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) override;
  Status ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                      const std::string& outcome, const std::string& note) override;
  Status SetEscalation(const std::string& alert_id, int level,
                       std::optional<TimePoint> next_at) override;
  Result<std::vector<AlertState>> DueEscalations(TimePoint now) override;
  Result<std::optional<TimePoint>> NextEscalationDeadline() override;
  Result<std::vector<AlertState>> OpenAlerts(const std::string& recipient, int64_t after_seq,
                                             std::optional<TimePoint> raised_by,
                                             int limit) override;
  Result<std::vector<HistoryRow>> PersonHistory(const std::string& person_id) override;
  Status InsertAudit(const AuditRecord& record) override;
  Result<PurgeResult> Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                            TimePoint audit_before) override;
  Status ForEachHandled(int64_t after_row, const HandledRowFn& fn) override;
  Status ForEachHandledKey(const HandledKeyFn& fn) override;
  Result<HandledTail> HandledAfter(int64_t after_row) override;
  Result<std::optional<std::string>> InstrumentRaw(const std::string& instrument_id,
                                                   int64_t version) override;
  Status ForEachResolvedAlert(
      const std::function<void(const std::string& payload, const std::string& outcome)>& fn)
      override;
  Result<int64_t> MaxAlertSeq() override;
  Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) override;
  Result<StoreCounts> Counts() override;
  Result<int64_t> CountAlerts(const std::string& person_id,
                              const std::vector<std::string>& kinds) override;

 private:
  std::unique_ptr<Store> inner_;
  // Recursive: the transaction's own calls take it again on the thread that holds it from Begin().
  std::recursive_mutex mu_;
  bool in_transaction_ = false;  // guarded by mu_
};

}  // namespace bw
