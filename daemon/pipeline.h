// Pipeline: the driver that joins the stages (docs/architecture.md):
//
//   intake ─▶ matcher ─▶ committer (journal, its own thread) ─▶ publisher
//
// Submit() takes a batch of inbound messages through them asynchronously: the matcher decides it
// into one JournalEntry on the loop, the committer (daemon/committer.h) commits it on its thread —
// grouped with whatever else is queued — and only when that commit is done, back on the loop, does
// the publisher send its alerts and intake get the outcomes.  So batch N+1 is decided while batch N
// commits.  Entries complete in the order they were decided, whatever their kind (batches, ticks,
// control writes, daemon alerts): the journal's order is the order the engine decided in, and the
// order of each source's events is kept.  At most max_in_flight batches are in flight
// (has_room(); intake stops reading its feeds until on_room).
//
// When the journal refuses, nothing of the refused transaction is stored and nothing is published;
// the committer refuses everything behind it too, and each refused entry is held here, in order,
// with the engine as it decided it (the decisions are applied, not yet durable), to be committed
// again unchanged before anything else that changes the engine — by Recover() each tick, or when
// intake offers the same batch again (which is then not matched a second time).  The store is
// marked unhealthy and intake holds its refused batches and pauses.  Nothing is re-matched and the
// store is not replayed.  Only when the matcher itself fails part-way (the journal could not be
// read), or intake offers a batch other than the held one, is the engine rebuilt from the journal
// (Matcher::Restore), once nothing is in flight.
//
// Synchronous calls — Handle(), Commit(), CommitNow(), Raise(), Recover(), Flush() — first wait
// for everything in flight (Flush) and then for their own entry: the loop blocks for at most a few
// commits.  Ticks, control writes (ack/resolve/audit rows, event.submit) and held batches take this
// path: they are rare, and waiting keeps them simple and in order.
//
// Thread-safety: not synchronised; the io_context's thread only.  The committer's thread touches
// only the journal; its completions are posted back to the io_context.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "daemon/committer.h"
#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/publisher.h"
#include "daemon/stage_values.h"

namespace bw {

// Where intake hands what it read.
class BatchSink {
 public:
  // Called on the loop with the batch handed in and its outcomes once they are durable; nullopt:
  // not committed (nothing kept): hand the same batch again later (Handle).
  using BatchDone = std::function<void(std::vector<InboundMessage> batch,
                                       std::optional<std::vector<ItemOutcome>> outcomes)>;
  virtual ~BatchSink() = default;
  // Asynchronous: `done` is called later (or at once when refused without matching), batches in
  // the order they were submitted.
  virtual void Submit(std::vector<InboundMessage> batch, BatchDone done) = 0;
  // Whether another batch may be submitted now (backpressure), and who is told when there is room
  // again.
  virtual bool has_room() const = 0;
  virtual void set_on_room(std::function<void()> on_room) = 0;
  // Synchronous: waits for what is in flight, then for this batch.  nullopt: not committed (nothing
  // kept); hand the same batch again later.
  virtual std::optional<std::vector<ItemOutcome>> Handle(
      const std::vector<InboundMessage>& batch) = 0;
  // Alerts raised by the daemon itself (feed health); kept and retried when refused.
  virtual void Raise(std::vector<Alert> alerts) = 0;
  // False while nothing can be committed (the engine could not be restored).
  virtual bool accepting() const = 0;
};

class Pipeline final : public BatchSink {
 public:
  struct Options {
    size_t max_in_flight = 4;  // batches submitted and not yet completed
    size_t max_group = 64;     // entries in one transaction
  };
  // Starts the committer's thread; its completions are posted to `io`.
  Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock,
           boost::asio::io_context& io, Options options);
  Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock,
           boost::asio::io_context& io)
      : Pipeline(matcher, journal, publisher, clock, io, Options{}) {}
  // Commits what is queued (the committer's thread is joined); completions not yet taken are
  // dropped (their entries are durable; their alerts are not published).
  ~Pipeline();

  void Submit(std::vector<InboundMessage> batch, BatchDone done) override;
  bool has_room() const override { return in_flight_.size() < options_.max_in_flight; }
  void set_on_room(std::function<void()> on_room) override { on_room_ = std::move(on_room); }
  std::optional<std::vector<ItemOutcome>> Handle(
      const std::vector<InboundMessage>& batch) override;
  void Raise(std::vector<Alert> alerts) override;
  bool accepting() const override { return !matcher_.stale(); }

  // Commits `entry` and publishes its alerts.  `engine_changed`: the matcher applied decisions
  // for it (ticks), so a refusal restores the engine.
  [[nodiscard]] Result<CommittedBatch> Commit(JournalEntry entry, bool engine_changed);
  // Commits `entry` (no engine change, no alerts: control writes, audit rows) in the journal's
  // order and waits for it.  A refusal is the caller's to report; nothing is held.
  [[nodiscard]] Result<CommittedBatch> CommitNow(JournalEntry entry);
  // Waits until nothing is in flight and runs every completion (publishes, calls back intake).
  // Afterwards the engine's state is what the journal holds plus what is held here.
  void Flush();
  size_t in_flight() const { return in_flight_.size(); }
  const Matcher& matcher() const { return matcher_; }
  Committer::Stats committer_stats() const { return committer_->stats(); }
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
  // An entry handed to the committer, waiting for its completion (in ticket order).
  struct InFlight {
    enum class Kind { kBatch, kHeldBatch, kEngineChange, kPlain };
    Kind kind = Kind::kPlain;
    uint64_t ticket = 0;
    std::vector<ItemOutcome> outcomes;  // batches
    std::vector<InboundMessage> batch;  // batches
    BatchDone batch_done;               // kBatch
    std::function<void(Result<CommittedBatch>)> commit_done;  // kEngineChange, kPlain
    std::chrono::steady_clock::time_point started;
  };
  // Hands `entry` to the committer behind everything in flight.
  void Send(JournalEntry entry, InFlight flight);
  // Runs the completions the committer has finished, in order (posted to the loop, and from
  // Flush).  Reentrant: a completion's callback may Flush again.
  void TakeCompletions();
  void Complete(Committer::Completion c, InFlight f);
  // Commits held entries in order.  A held batch's outcomes go to `done_batches_` until intake
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
  // Held batches committed by Recover(), waiting for intake to offer them again, in order.
  std::deque<Held> done_batches_;
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
  boost::asio::io_context& io_;
  const Options options_;
  std::deque<InFlight> in_flight_;
  std::function<void()> on_room_;
  // Lets completions posted to the loop tell that the pipeline was destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<Committer> committer_;  // after everything its completions touch
  std::vector<Alert> unsent_daemon_alerts_;
  Stats stats_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
};

}  // namespace bw
