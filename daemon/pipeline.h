// Pipeline: the driver that joins the stages (docs/architecture.md):
//
//   intake ─▶ matcher ─▶ journal ─▶ publisher
//
// Handle() takes a batch of inbound messages through them: the matcher decides it into one
// JournalEntry, the journal commits it, and only then does the publisher send its alerts.  When the
// journal refuses, nothing of the batch is kept and nothing is published: the matcher restores the
// engine, the store is marked unhealthy, and the caller (intake) holds the batch and pauses.
// Entries decided elsewhere (ticks, control ops, security audit) go through Commit(); the daemon's
// own alerts (feed health) through Raise(), which keeps refused ones and raises them again.
//
// Thread-safety: not synchronised; the io_context's thread only.  Each arrow is a plain value
// (daemon/stage_values.h), so a stage can move to a thread of its own behind a queue.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/publisher.h"
#include "daemon/stage_values.h"

namespace bw {

// Where intake hands what it read.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // nullopt: not committed (nothing kept); hand the same batch again later.
  virtual std::optional<std::vector<ItemOutcome>> Handle(
      const std::vector<InboundMessage>& batch) = 0;
  // Alerts raised by the daemon itself (feed health); kept and retried when refused.
  virtual void Raise(std::vector<Alert> alerts) = 0;
  // False while nothing can be committed (the engine could not be restored).
  virtual bool accepting() const = 0;
};

class Pipeline final : public BatchSink {
 public:
  Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock);

  std::optional<std::vector<ItemOutcome>> Handle(
      const std::vector<InboundMessage>& batch) override;
  void Raise(std::vector<Alert> alerts) override;
  bool accepting() const override { return !matcher_.stale(); }

  // Commits `entry` and publishes its alerts.  `engine_changed`: the matcher applied decisions
  // for it (ticks), so a refusal restores the engine.
  [[nodiscard]] Result<CommittedBatch> Commit(JournalEntry entry, bool engine_changed);

  // A committed alert.resolve, told to the engine (the history it shows: protocol 9.1).
  void AlertResolved(const Alert& alert, const std::string& outcome) {
    matcher_.AlertResolved(alert, outcome);
  }

  // Each tick while unhealthy: restores a stale engine.  True when the pipeline can commit.
  bool Recover();

  // Who is told when the store fails (every control room: daemon/engine control_rooms()).  While
  // it fails, a store_failing notice goes to them at once and every kNoticeEvery after, published
  // without being stored (the store is what fails; it carries seq 0 and "stored": false); once a
  // commit succeeds again, store_recovered is raised and stored as any alert.
  void set_notice_recipients(std::vector<std::string> control_rooms) {
    notice_recipients_ = std::move(control_rooms);
  }
  static constexpr std::chrono::minutes kNoticeEvery{5};

  // When the matching path last made progress (steady clock): a batch handled, or refused by the
  // store, or an attempt to restore a stale engine.  What the watchdog asks
  // (daemon/matching_watchdog.h).
  std::chrono::steady_clock::time_point last_progress() const { return last_progress_; }

  struct Stats {
    int64_t store_failures = 0;
    bool store_healthy = true;
    static constexpr double kCommitBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025,  0.05,  0.1,    0.25,  1.0};
    int64_t commit_bucket_counts[std::size(kCommitBuckets)] = {};
    int64_t commits = 0;
    double commit_seconds_sum = 0;
    int64_t pending_daemon_alerts = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  void Refused(bool engine_changed, const Status& why);
  // Publishes store_failing, unstored, when due (see set_notice_recipients).
  void NoticeStoreFailing();
  std::vector<std::string> notice_recipients_;
  std::optional<TimePoint> failing_since_;
  std::optional<TimePoint> last_notice_;
  std::string last_failure_;
  void Committed(std::chrono::steady_clock::duration took);

  Matcher& matcher_;
  Journal& journal_;
  Publisher& publisher_;
  const Clock& clock_;
  std::vector<Alert> unsent_daemon_alerts_;
  Stats stats_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
};

}  // namespace bw
