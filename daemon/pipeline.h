// Pipeline: the driver that joins the stages (docs/architecture.md):
//
//   intake ─▶ matcher ─▶ journal ─▶ publisher
//
// Handle() takes a batch of inbound messages through them: the matcher decides it into one
// JournalEntry, the journal commits it, and only then does the publisher send its alerts.  When the
// journal refuses, nothing of the batch is stored and nothing is published; the store is marked
// unhealthy and the caller (intake) holds the batch and pauses.
//
// Recovery is from the failed batch only: the decided entry is held here, with the engine as it
// decided it (the decisions are applied, not yet durable), and committed again, unchanged, before
// anything else that changes the engine — by Recover() each tick, or when intake offers the same
// batch again (which is then not matched a second time).  Nothing is re-matched and the store is not
// replayed.  Only when the matcher itself fails part-way (the journal could not be read), or intake
// offers a batch other than the held one, is the engine rebuilt from the journal (Matcher::Restore).
//
// Entries decided elsewhere (ticks, control ops, security audit) go through Commit(); a refused
// tick that changed the engine is held the same way.  The daemon's own alerts (feed health) go
// through Raise(), which keeps refused ones and raises them again.
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

  // Each tick: commits the held entry, if any, or restores a stale engine.  True when nothing is
  // held and the engine is current (the pipeline can take new work).
  bool Recover();
  // Entries decided and applied to the engine but refused by the journal, waiting to be committed.
  size_t held_entries() const { return held_.size(); }

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
  // A decided entry the journal refused, kept to be committed again unchanged.
  struct Held {
    JournalEntry entry;
    bool from_batch = false;              // Handle(): intake will offer the same batch again
    std::vector<ItemOutcome> outcomes;    // from_batch: the outcomes, as the matcher decided them
    std::vector<InboundMessage> batch;    // from_batch: what was matched (to know it again)
  };
  // Commits held entries in order.  A held batch's outcomes go to `done_batch_` until intake
  // offers it again.  False while the journal still refuses.
  bool CommitHeld();
  // Publishes a committed entry's alerts and fills the outcomes of its items.
  void Finish(JournalEntry& entry, CommittedBatch& committed, std::vector<ItemOutcome>* outcomes,
              std::chrono::steady_clock::time_point started);
  // The held entries cannot be kept (intake offers another batch, or the matcher failed): drop
  // them and rebuild the engine from the journal.
  void DropHeldAndRestore(const char* why);
  void Refused(const Status& why);
  std::vector<Held> held_;
  // A held batch committed by Recover(), waiting for intake to offer it again.
  std::optional<Held> done_batch_;
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
