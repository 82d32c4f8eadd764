// FaultInjectingStore: a Store decorator that makes writes and commits fail on
// demand, for testing that breachwatchd never reports as handled what it did
// not store, keeps running, reports itself degraded and recovers.
//
// The fault plan is read from a file whose path is given at construction; the
// file is re-read whenever it changes (checked at each Begin()), so a test can
// switch faults on and off while the daemon runs.  breachwatchd installs this
// decorator only when the environment variable BREACHWATCH_FAULT_FILE is set.
// Plan file, one directive per line:
//   fail_write N      the Nth write after the plan was loaded fails, once
//   fail_writes       every write fails
//   fail_commit_once  the next commit fails, once
//   fail_commit       every commit (the fsync point) fails
//   disk_full         every write and commit fails with "database or disk is full"
//   stall_commit_ms N [C]  the next C commits (default 1) each wait N ms before
//                     committing, then commit normally: a disk whose fsync stalls
//                     (bw-load's fault run); nothing is refused or lost
// Thread-safety: as the wrapped Store (one thread); a stall blocks the calling
// thread, as a slow fdatasync would.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "daemon/store.h"

namespace bw {

class FaultInjectingStore final : public Store {
 public:
  // How a commit stall waits; the default sleeps the calling thread.
  using SleepFn = std::function<void(std::chrono::milliseconds)>;

  FaultInjectingStore(std::unique_ptr<Store> inner, std::string plan_file,
                      SleepFn sleep = nullptr);

  Status Begin() override;
  Status Commit() override;
  void Rollback() override { inner_->Rollback(); }
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override {
    return inner_->HandledPayload(source, msg_id);
  }
  Result<int64_t> InsertInbound(const InboundRecord& record) override;
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override {
    return inner_->LastSeqs();
  }
  Result<std::optional<std::string>> InstrumentRaw(const std::string& instrument_id,
                                                   int64_t version) override {
    return inner_->InstrumentRaw(instrument_id, version);
  }
  Status InsertInstrumentChange(const InstrumentChange& change, const std::string& source,
                                const std::string& id, TimePoint recorded_at) override;
  Status InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) override;
  Result<std::optional<AlertState>> GetAlert(const std::string& alert_id) override {
    return inner_->GetAlert(alert_id);
  }
  Status AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) override;
  Status ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                      const std::string& outcome, const std::string& note) override;
  Status SetEscalation(const std::string& alert_id, int level,
                       std::optional<TimePoint> next_at) override;
  Result<std::vector<AlertState>> DueEscalations(TimePoint now) override {
    return inner_->DueEscalations(now);
  }
  Result<std::optional<TimePoint>> NextEscalationDeadline() override {
    return inner_->NextEscalationDeadline();
  }
  Result<std::vector<AlertState>> OpenAlerts(const std::string& recipient, int64_t after_seq,
                                             std::optional<TimePoint> raised_by,
                                             int limit) override {
    return inner_->OpenAlerts(recipient, after_seq, raised_by, limit);
  }
  Result<std::vector<HistoryRow>> PersonHistory(const std::string& person_id) override {
    return inner_->PersonHistory(person_id);
  }
  Status InsertAudit(const AuditRecord& record) override;
  Result<PurgeResult> Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                            TimePoint audit_before) override;
  Status ForEachHandled(int64_t after_row, const HandledRowFn& fn) override {
    return inner_->ForEachHandled(after_row, fn);
  }
  Status ForEachHandledKey(const HandledKeyFn& fn) override {
    return inner_->ForEachHandledKey(fn);
  }
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>& fn) override {
    return inner_->ForEachResolvedAlert(fn);
  }
  Result<HandledTail> HandledAfter(int64_t after_row) override {
    return inner_->HandledAfter(after_row);
  }
  Result<int64_t> MaxAlertSeq() override { return inner_->MaxAlertSeq(); }
  Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) override {
    return inner_->AlertsSince(after, limit);
  }
  Result<StoreCounts> Counts() override { return inner_->Counts(); }
  Result<int64_t> CountAlerts(const std::string& person_id,
                              const std::vector<std::string>& kinds) override {
    return inner_->CountAlerts(person_id, kinds);
  }

 private:
  void ReloadPlanIfChanged();
  Status WriteFault();

  std::unique_ptr<Store> inner_;
  std::string plan_file_;
  std::filesystem::file_time_type plan_mtime_{};
  bool plan_present_ = false;
  int64_t fail_write_at_ = 0;  // 0 = none
  int64_t writes_ = 0;
  bool fail_writes_ = false;
  bool fail_commit_once_ = false;
  bool fail_commit_ = false;
  bool disk_full_ = false;
  int64_t stall_commit_ms_ = 0;
  int64_t stall_commits_left_ = 0;
  SleepFn sleep_;
};

}  // namespace bw
