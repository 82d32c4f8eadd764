#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/json/serialize.hpp>

#include "handlers/base/time_util.h"

namespace bw {

Pipeline::Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock)
    : matcher_(matcher), journal_(journal), publisher_(publisher), clock_(clock) {}

namespace {

// Whether intake offers the batch that was matched (a held batch comes back unchanged).
bool SameBatch(const std::vector<InboundMessage>& a, const std::vector<InboundMessage>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].channel != b[i].channel || a[i].topic != b[i].topic || a[i].payload != b[i].payload) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::vector<ItemOutcome>> Pipeline::Handle(const std::vector<InboundMessage>& batch) {
  const auto started = std::chrono::steady_clock::now();
  // What was refused earlier goes first, unchanged; while it is refused, nothing new is matched.
  if (!held_.empty()) {
    if (held_.front().from_batch && !SameBatch(held_.front().batch, batch)) {
      DropHeldAndRestore("intake offered a batch other than the held one");
    } else if (!CommitHeld()) {
      last_progress_ = std::chrono::steady_clock::now();  // offered; the store refused
      return std::nullopt;
    }
  }
  if (done_batch_) {
    if (SameBatch(done_batch_->batch, batch)) {
      // Refused before, committed since by Recover(): the outcomes as they were decided.
      auto outcomes = std::move(done_batch_->outcomes);
      done_batch_.reset();
      last_progress_ = std::chrono::steady_clock::now();
      return outcomes;
    }
    spdlog::error("a held batch was committed but intake offers another one first");
    done_batch_.reset();
  }
  std::vector<ItemOutcome> outcomes;
  auto entry = matcher_.Match(batch, &outcomes);
  if (!entry.ok()) {
    // The matcher stopped part-way (the journal could not be read): what it applied of the batch
    // cannot be told apart, so the engine is rebuilt.
    spdlog::error("store failure matching {} message(s): {}", batch.size(),
                  entry.status().ToString());
    Refused(entry.status());
    DropHeldAndRestore("the matcher could not finish the batch");
    last_progress_ = std::chrono::steady_clock::now();
    return std::nullopt;
  }
  auto committed = journal_.Commit(&*entry);
  if (!committed.ok()) {
    spdlog::error("store failure, {} message(s) not yet stored (held, committed again as "
                  "decided): {}",
                  batch.size(), committed.status().ToString());
    Refused(committed.status());
    held_.push_back(Held{std::move(*entry), true, std::move(outcomes), batch});
    last_progress_ = std::chrono::steady_clock::now();  // offered; the store refused
    return std::nullopt;
  }
  Finish(*entry, *committed, &outcomes, started);
  return outcomes;
}

void Pipeline::Finish(JournalEntry& entry, CommittedBatch& committed,
                      std::vector<ItemOutcome>* outcomes,
                      std::chrono::steady_clock::time_point started) {
  if (outcomes) {
    // Each outcome that made an item gets its row and its alerts as committed.
    size_t item = 0;
    for (auto& out : *outcomes) {
      if (out.result == ItemResult::kDuplicate) continue;
      out.inbound_row = committed.inbound_rows[item];
      out.alerts = entry.items[item].alerts;
      ++item;
    }
  }
  Committed(std::chrono::steady_clock::now() - started);
  publisher_.Publish(committed.alerts);
  last_progress_ = std::chrono::steady_clock::now();
}

bool Pipeline::CommitHeld() {
  while (!held_.empty()) {
    const auto started = std::chrono::steady_clock::now();
    Held& held = held_.front();
    auto committed = journal_.Commit(&held.entry);
    if (!committed.ok()) {
      Refused(committed.status());
      return false;
    }
    spdlog::info("held entry ({} message(s), {} alert(s)) committed as it was decided",
                 held.entry.items.size(), committed->alerts.size());
    Finish(held.entry, *committed, held.from_batch ? &held.outcomes : nullptr, started);
    if (held.from_batch) done_batch_ = std::move(held);
    held_.erase(held_.begin());
  }
  return true;
}

void Pipeline::DropHeldAndRestore(const char* why) {
  if (!held_.empty()) {
    spdlog::error("{}: {} held entr(ies) dropped; their messages are offered again", why,
                  held_.size());
  }
  held_.clear();
  done_batch_.reset();
  if (!matcher_.Restore().ok()) {
    spdlog::error("engine state is stale until the store can be read again");
  }
}

Result<CommittedBatch> Pipeline::Commit(JournalEntry entry, bool engine_changed) {
  const auto started = std::chrono::steady_clock::now();
  if (engine_changed && !held_.empty() && !CommitHeld()) {
    // Decided on top of what is held: it keeps its place behind it.
    held_.push_back(Held{std::move(entry)});
    return Status::Unavailable("the store refuses commits; held behind earlier entries");
  }
  auto committed = journal_.Commit(&entry);
  if (!committed.ok()) {
    Refused(committed.status());
    if (engine_changed) held_.push_back(Held{std::move(entry)});
    return committed.status();
  }
  Finish(entry, *committed, nullptr, started);
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
  if (!held_.empty()) {
    const bool committed = CommitHeld();
    last_progress_ = std::chrono::steady_clock::now();  // tried: the store decides
    if (!committed) return false;
  }
  if (!matcher_.stale()) return true;
  const bool restored = matcher_.Restore().ok();
  last_progress_ = std::chrono::steady_clock::now();  // tried: the store decides
  return restored;
}

void Pipeline::Refused(const Status& why) {
  ++stats_.store_failures;
  stats_.store_healthy = false;
  last_failure_ = why.ToString();
  if (!failing_since_) failing_since_ = clock_.Now();
  sd_notify(0, "STATUS=degraded: store failure");
  NoticeStoreFailing();
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
