#include "daemon/fault_injecting_store.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace bw {

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<Store> inner, std::string plan_file,
                                         SleepFn sleep)
    : inner_(std::move(inner)), plan_file_(std::move(plan_file)), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

void FaultInjectingStore::ReloadPlanIfChanged() {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(plan_file_, ec);
  const bool present = !ec;
  if (present == plan_present_ && (!present || mtime == plan_mtime_)) return;
  plan_present_ = present;
  plan_mtime_ = mtime;
  fail_write_at_ = 0;
  writes_ = 0;
  fail_writes_ = fail_commit_once_ = fail_commit_ = disk_full_ = false;
  stall_commit_ms_ = stall_commits_left_ = 0;
  if (!present) return;
  std::ifstream in(plan_file_);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string directive;
    words >> directive;
    if (directive == "fail_write") {
      words >> fail_write_at_;
    } else if (directive == "fail_writes") {
      fail_writes_ = true;
    } else if (directive == "fail_commit_once") {
      fail_commit_once_ = true;
    } else if (directive == "fail_commit") {
      fail_commit_ = true;
    } else if (directive == "disk_full") {
      disk_full_ = true;
    } else if (directive == "stall_commit_ms") {
      int64_t ms = 0, count = 1;
      words >> ms;
      if (!(words >> count)) count = 1;
      if (ms > 0 && count > 0) {
        stall_commit_ms_ = ms;
        stall_commits_left_ = count;
      }
    }
  }
}

Status FaultInjectingStore::WriteFault() {
  ++writes_;
  if (disk_full_) return Status::IoError("sqlite: database or disk is full (injected)");
  if (fail_writes_) return Status::IoError("sqlite: disk I/O error (injected, every write)");
  if (fail_write_at_ > 0 && writes_ == fail_write_at_) {
    return Status::IoError("sqlite: disk I/O error (injected, write " +
                           std::to_string(fail_write_at_) + ")");
  }
  return Status::Ok();
}

Status FaultInjectingStore::Begin() {
  ReloadPlanIfChanged();
  return inner_->Begin();
}

Status FaultInjectingStore::Commit() {
  if (disk_full_ || fail_commit_ || fail_commit_once_) {
    fail_commit_once_ = false;
    inner_->Rollback();
    return Status::IoError(disk_full_ ? "sqlite: database or disk is full (injected)"
                                      : "sqlite: disk I/O error during commit (injected)");
  }
  if (stall_commits_left_ > 0) {
    --stall_commits_left_;
    sleep_(std::chrono::milliseconds(stall_commit_ms_));
  }
  return inner_->Commit();
}

Result<int64_t> FaultInjectingStore::InsertInbound(const InboundRecord& record) {
  Status s = WriteFault();
  if (!s.ok()) return s;
  return inner_->InsertInbound(record);
}

Status FaultInjectingStore::InsertInstrumentChange(const InstrumentChange& change,
                                                   const std::string& source, const std::string& id,
                                                   TimePoint recorded_at) {
  Status s = WriteFault();
  return s.ok() ? inner_->InsertInstrumentChange(change, source, id, recorded_at) : s;
}

Status FaultInjectingStore::InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) {
  Status s = WriteFault();
  return s.ok() ? inner_->InsertAlert(alert, escalate_at) : s;
}

Status FaultInjectingStore::AckAlert(const std::string& alert_id, const std::string& by,
                                     TimePoint at) {
  Status s = WriteFault();
  return s.ok() ? inner_->AckAlert(alert_id, by, at) : s;
}

Status FaultInjectingStore::ResolveAlert(const std::string& alert_id, const std::string& by,
                                         TimePoint at, const std::string& outcome,
                                         const std::string& note) {
  Status s = WriteFault();
  return s.ok() ? inner_->ResolveAlert(alert_id, by, at, outcome, note) : s;
}

Status FaultInjectingStore::SetEscalation(const std::string& alert_id, int level,
                                          std::optional<TimePoint> next_at) {
  Status s = WriteFault();
  return s.ok() ? inner_->SetEscalation(alert_id, level, next_at) : s;
}

Status FaultInjectingStore::InsertAudit(const AuditRecord& record) {
  Status s = WriteFault();
  return s.ok() ? inner_->InsertAudit(record) : s;
}

Result<PurgeResult> FaultInjectingStore::Purge(TimePoint now,
                                               std::optional<TimePoint> dead_letters_before,
                                               TimePoint audit_before) {
  Status s = WriteFault();
  if (!s.ok()) return s;
  return inner_->Purge(now, dead_letters_before, audit_before);
}

}  // namespace bw
