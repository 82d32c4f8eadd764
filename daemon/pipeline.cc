#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace bw {

Pipeline::Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock)
    : matcher_(matcher), journal_(journal), publisher_(publisher), clock_(clock) {}

std::optional<std::vector<ItemOutcome>> Pipeline::Handle(const std::vector<InboundMessage>& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<ItemOutcome> outcomes;
  auto entry = matcher_.Match(batch, &outcomes);
  Result<CommittedBatch> committed =
      entry.ok() ? journal_.Commit(&*entry) : Result<CommittedBatch>(entry.status());
  if (!committed.ok()) {
    spdlog::error("store failure, {} message(s) not handled: {}", batch.size(),
                  committed.status().ToString());
    Refused(/*engine_changed=*/true);
    last_progress_ = std::chrono::steady_clock::now();  // offered; the store refused
    return std::nullopt;
  }
  // Each outcome that made an item gets its row and its alerts as committed.
  size_t item = 0;
  for (auto& out : outcomes) {
    if (out.result == ItemResult::kDuplicate) continue;
    out.inbound_row = committed->inbound_rows[item];
    out.alerts = entry->items[item].alerts;
    ++item;
  }
  Committed(std::chrono::steady_clock::now() - started);
  publisher_.Publish(committed->alerts);
  last_progress_ = std::chrono::steady_clock::now();
  return outcomes;
}

Result<CommittedBatch> Pipeline::Commit(JournalEntry entry, bool engine_changed) {
  const auto started = std::chrono::steady_clock::now();
  auto committed = journal_.Commit(&entry);
  if (!committed.ok()) {
    Refused(engine_changed);
    return committed.status();
  }
  Committed(std::chrono::steady_clock::now() - started);
  publisher_.Publish(committed->alerts);
  return committed;
}

void Pipeline::Raise(std::vector<Alert> alerts) {
  for (auto& a : unsent_daemon_alerts_) alerts.push_back(std::move(a));
  unsent_daemon_alerts_.clear();
  stats_.pending_daemon_alerts = 0;
  if (alerts.empty()) return;
  JournalEntry entry;
  entry.at = clock_.Now();
  entry.alerts = alerts;
  auto committed = Commit(std::move(entry), /*engine_changed=*/false);
  if (!committed.ok()) {
    spdlog::error("store failure raising {} daemon alert(s), kept for retry: {}", alerts.size(),
                  committed.status().ToString());
    unsent_daemon_alerts_ = std::move(alerts);
    stats_.pending_daemon_alerts = static_cast<int64_t>(unsent_daemon_alerts_.size());
    return;
  }
  for (const auto& a : committed->alerts) spdlog::warn("{}: {}", AlertKindName(a.alert.kind), a.alert.summary);
}

bool Pipeline::Recover() {
  if (!matcher_.stale()) return true;
  const bool restored = matcher_.Restore().ok();
  last_progress_ = std::chrono::steady_clock::now();  // tried: the store decides
  return restored;
}

void Pipeline::Refused(bool engine_changed) {
  ++stats_.store_failures;
  stats_.store_healthy = false;
  sd_notify(0, "STATUS=degraded: store failure");
  if (engine_changed && !matcher_.Restore().ok()) {
    spdlog::error("engine state is stale until the store can be read again");
  }
}

void Pipeline::Committed(std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  ++stats_.commits;
  stats_.commit_seconds_sum += seconds;
  for (size_t i = 0; i < std::size(Stats::kCommitBuckets); ++i) {
    if (seconds <= Stats::kCommitBuckets[i]) ++stats_.commit_bucket_counts[i];
  }
  if (!stats_.store_healthy) {
    stats_.store_healthy = true;
    sd_notify(0, "STATUS=serving");
    spdlog::info("store healthy again");
  }
}

}  // namespace bw
