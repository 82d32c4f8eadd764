#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/json/serialize.hpp>

#include "handlers/base/time_util.h"

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
    Refused(/*engine_changed=*/true, committed.status());
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
    Refused(engine_changed, committed.status());
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

void Pipeline::Refused(bool engine_changed, const Status& why) {
  ++stats_.store_failures;
  stats_.store_healthy = false;
  last_failure_ = why.ToString();
  if (!failing_since_) failing_since_ = clock_.Now();
  sd_notify(0, "STATUS=degraded: store failure");
  NoticeStoreFailing();
  if (engine_changed && !matcher_.Restore().ok()) {
    spdlog::error("engine state is stale until the store can be read again");
  }
}

void Pipeline::NoticeStoreFailing() {
  const TimePoint now = clock_.Now();
  if (notice_recipients_.empty() || (last_notice_ && now - *last_notice_ < kNoticeEvery)) return;
  last_notice_ = now;
  Alert a;
  a.kind = AlertKind::kStoreFailing;
  a.severity = Severity::kCritical;
  a.event_time = *failing_since_;
  a.raised_at = now;
  a.alert_id = "unstored-" + std::to_string(now.time_since_epoch().count());
  a.summary = "breachwatch cannot write its store since " + FormatRfc3339(*failing_since_) +
              " (" + last_failure_ +
              "): feeds are held and nothing is lost, but no breach is alerted until it "
              "recovers; call the on-call engineer (is the disk full?)";
  for (const auto& room : notice_recipients_) AddRecipient(&a, ControlTopic(room));
  boost::json::object payload = AlertToJson(a);
  payload["seq"] = 0;  // not in the store: alerts.since will never return it
  payload["stored"] = false;
  payload["failing_since"] = FormatRfc3339(*failing_since_);
  payload["error"] = last_failure_;
  spdlog::critical("{}", a.summary);
  publisher_.Publish({CommittedAlert{a, boost::json::serialize(payload)}});
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
    if (failing_since_ && !notice_recipients_.empty()) {
      // Raised (and stored) with the daemon's next alerts: Raise() sends what is pending.
      Alert a;
      a.kind = AlertKind::kStoreRecovered;
      a.severity = Severity::kInfo;
      a.event_time = clock_.Now();
      a.summary = "breachwatch writes its store again (it failed from " +
                  FormatRfc3339(*failing_since_) + "); held events are being handled";
      a.extra["failing_since"] = FormatRfc3339(*failing_since_);
      for (const auto& room : notice_recipients_) AddRecipient(&a, ControlTopic(room));
      unsent_daemon_alerts_.push_back(std::move(a));
      stats_.pending_daemon_alerts = static_cast<int64_t>(unsent_daemon_alerts_.size());
    }
    failing_since_.reset();
    last_notice_.reset();
  }
}

}  // namespace bw
