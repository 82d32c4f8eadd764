#include "daemon/synchronized_store.h"

namespace bw {

Status SynchronizedStore::Begin() {
  std::lock_guard lock(mu_);
  Status s = inner_->Begin();
  if (s.ok()) {
    mu_.lock();  // held until the transaction ends (Commit or Rollback)
    in_transaction_ = true;
  }
  return s;
}

Status SynchronizedStore::Commit() {
  std::lock_guard lock(mu_);
  Status s = inner_->Commit();
  if (s.ok() && in_transaction_) {
    in_transaction_ = false;
    mu_.unlock();
  }
  return s;  // a failed commit stays open until Rollback()
}

void SynchronizedStore::Rollback() {
  std::lock_guard lock(mu_);
  inner_->Rollback();
  if (in_transaction_) {
    in_transaction_ = false;
    mu_.unlock();
  }
}

Result<std::optional<std::string>> SynchronizedStore::HandledPayload(const std::string& source, const std::string& msg_id) {
  std::lock_guard lock(mu_);
  return inner_->HandledPayload(source, msg_id);
}

Result<int64_t> SynchronizedStore::InsertInbound(const InboundRecord& record) {
  std::lock_guard lock(mu_);
  return inner_->InsertInbound(record);
}

Result<std::vector<std::tuple<std::string, std::string, int64_t>>> SynchronizedStore::LastSeqs() {
  std::lock_guard lock(mu_);
  return inner_->LastSeqs();
}

Status SynchronizedStore::InsertInstrumentChange(const InstrumentChange& change, const std::string& caused_by_source, const std::string& caused_by_id, TimePoint recorded_at) {
  std::lock_guard lock(mu_);
  return inner_->InsertInstrumentChange(change, caused_by_source, caused_by_id, recorded_at);
}

Status SynchronizedStore::InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) {
  std::lock_guard lock(mu_);
  return inner_->InsertAlert(alert, escalate_at);
}

Result<std::optional<AlertState>> SynchronizedStore::GetAlert(const std::string& alert_id) {
  std::lock_guard lock(mu_);
  return inner_->GetAlert(alert_id);
}

Status SynchronizedStore::AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) {
  std::lock_guard lock(mu_);
  return inner_->AckAlert(alert_id, by, at);
}

Status SynchronizedStore::ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at, const std::string& outcome, const std::string& note) {
  std::lock_guard lock(mu_);
  return inner_->ResolveAlert(alert_id, by, at, outcome, note);
}

Status SynchronizedStore::SetEscalation(const std::string& alert_id, int level, std::optional<TimePoint> next_at) {
  std::lock_guard lock(mu_);
  return inner_->SetEscalation(alert_id, level, next_at);
}

Result<std::vector<AlertState>> SynchronizedStore::DueEscalations(TimePoint now) {
  std::lock_guard lock(mu_);
  return inner_->DueEscalations(now);
}

Result<std::optional<TimePoint>> SynchronizedStore::NextEscalationDeadline() {
  std::lock_guard lock(mu_);
  return inner_->NextEscalationDeadline();
}

Result<std::vector<AlertState>> SynchronizedStore::OpenAlerts(const std::string& recipient, int64_t after_seq, std::optional<TimePoint> raised_by, int limit) {
  std::lock_guard lock(mu_);
  return inner_->OpenAlerts(recipient, after_seq, raised_by, limit);
}

Result<std::vector<HistoryRow>> SynchronizedStore::PersonHistory(const std::string& person_id) {
  std::lock_guard lock(mu_);
  return inner_->PersonHistory(person_id);
}

Status SynchronizedStore::InsertAudit(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  return inner_->InsertAudit(record);
}

Result<PurgeResult> SynchronizedStore::Purge(TimePoint now, std::optional<TimePoint> dead_letters_before, TimePoint audit_before) {
  std::lock_guard lock(mu_);
  return inner_->Purge(now, dead_letters_before, audit_before);
}

Status SynchronizedStore::ForEachHandled(int64_t after_row, const HandledRowFn& fn) {
  std::lock_guard lock(mu_);
  return inner_->ForEachHandled(after_row, fn);
}

Status SynchronizedStore::ForEachHandledKey(const HandledKeyFn& fn) {
  std::lock_guard lock(mu_);
  return inner_->ForEachHandledKey(fn);
}

Result<Store::HandledTail> SynchronizedStore::HandledAfter(int64_t after_row) {
  std::lock_guard lock(mu_);
  return inner_->HandledAfter(after_row);
}

Result<std::optional<std::string>> SynchronizedStore::InstrumentRaw(
    const std::string& instrument_id, int64_t version) {
  std::lock_guard lock(mu_);
  return inner_->InstrumentRaw(instrument_id, version);
}

Status SynchronizedStore::ForEachResolvedAlert(const std::function<void(const std::string&, const std::string&)>& fn) {
  std::lock_guard lock(mu_);
  return inner_->ForEachResolvedAlert(fn);
}

Result<int64_t> SynchronizedStore::MaxAlertSeq() {
  std::lock_guard lock(mu_);
  return inner_->MaxAlertSeq();
}

Result<std::vector<std::string>> SynchronizedStore::AlertsSince(int64_t after, int limit) {
  std::lock_guard lock(mu_);
  return inner_->AlertsSince(after, limit);
}

Result<StoreCounts> SynchronizedStore::Counts() {
  std::lock_guard lock(mu_);
  return inner_->Counts();
}

Result<int64_t> SynchronizedStore::CountAlerts(const std::string& person_id, const std::vector<std::string>& kinds) {
  std::lock_guard lock(mu_);
  return inner_->CountAlerts(person_id, kinds);
}

}  // namespace bw
