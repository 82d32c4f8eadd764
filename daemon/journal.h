// Journal: the one commit unit of the daemon.  Everything a stage decides — inbound rows (dead
// letters included), instrument versions, alerts with their recipients and first escalation
// deadline, escalation steps, acknowledgements and outcomes, audit rows — reaches the store only
// as a JournalEntry committed here, in one transaction: all of it is kept, or none of it.
//
// The journal assigns what only a commit may assign: each alert's seq (gap-free, in entry order:
// the items' alerts in item order, then the entry's own), its ULID and raised_at.  A refused
// commit leaves the next seq as it was.  What to do after a refusal (hold the batch, pause intake,
// restore the engine) is the caller's: see daemon/pipeline.h.
//
// `Journal` is the seam (a PostgreSQL journal can stand behind it); `StoreJournal` is the journal
// over any `Store` (SQLite by default, or the fault-injecting decorator in tests).
//
// Thread-safety: Commit and CommitGroup from one thread at a time (the committer's,
// daemon/committer.h, in the daemon); the reads (HandledPayload, ForEach*, LastSeqs) from the loop,
// over a store that is synchronised (daemon/synchronized_store.h), so they see what the last
// finished transaction left and never an entry being committed.  last_alert_seq() and
// LastHandledCommitted() may be read from any thread.  LoadSeq only while nothing is committing.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/stage_values.h"
#include "daemon/store.h"
#include "handlers/base/clock.h"
#include "handlers/engine/policy.h"
#include "handlers/base/status.h"

namespace bw {

// A handled inbound row: its number and the digest of its channel and payload
// (JournalRowDigest), which tells the row apart from another store's row of the same number.
struct JournalPosition {
  int64_t row = 0;
  uint64_t digest = 0;
};
// A 64-bit digest (not cryptographic) of `bytes`, continuing from `seed`.
uint64_t Digest64(std::string_view bytes, uint64_t seed = 0);
uint64_t JournalRowDigest(std::string_view channel, std::string_view payload);

// What a group commit made durable: `committed` has one CommittedBatch for each of the first
// committed.size() entries; the others (if any) were refused with `status` and nothing of them is
// kept.
struct GroupCommit {
  std::vector<CommittedBatch> committed;
  Status status;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // The last handled inbound row this journal committed since it was made (nullopt: none, or a
  // journal that does not keep track).  What a snapshot records as its position
  // (daemon/snapshot.h).
  virtual std::optional<JournalPosition> LastHandledCommitted() const { return std::nullopt; }

  // Makes `entry` durable, assigning seq, alert_id and raised_at (= entry->at) to every alert in
  // it, and putting into each the JSON of the instruments it names (Alert::embed_instruments,
  // read back from what is stored, this entry's versions included).  It also writes the entry's
  // `collection` audit records, one per feed (docs/security.md).  On error nothing of the entry
  // is kept and the seq counter is unchanged.
  [[nodiscard]] virtual Result<CommittedBatch> Commit(JournalEntry* entry) = 0;
  // Commits `entries` in order.  This default commits them one by one and stops at the first
  // refusal (a prefix is kept); StoreJournal commits them in one transaction (all or nothing).
  [[nodiscard]] virtual GroupCommit CommitGroup(const std::vector<JournalEntry*>& entries) {
    GroupCommit out;
    for (JournalEntry* e : entries) {
      auto c = Commit(e);
      if (!c.ok()) {
        out.status = c.status();
        break;
      }
      out.committed.push_back(std::move(*c));
    }
    return out;
  }

  // The payload of (source, msg_id) when it is already journaled as handled, else nullopt: the
  // deduplication backstop (and what a conflicting message is compared with).
  [[nodiscard]] virtual Result<std::optional<std::string>> HandledPayload(
      const std::string& source, const std::string& msg_id) = 0;

  // Calls `fn(row, channel, payload)` for every handled inbound message after inbound row
  // `after_row` (0: all) in handling order (to rebuild the engine by replay, or to follow the
  // journal from a position).
  [[nodiscard]] virtual Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) = 0;
  // Calls `fn(source, msg_id)` for every handled message, in no particular order: what the
  // matcher's deduplication memory is filled with.  Unavailable when this journal cannot list
  // them (the matcher then reads HandledPayload for every message, as the backstop alone).
  [[nodiscard]] virtual Status ForEachHandledKey(const Store::HandledKeyFn& /*fn*/) {
    return Status::Unavailable("this journal does not list handled ids");
  }

  // The highest seq journaled per (channel, source): where each source's numbering stands.
  [[nodiscard]] virtual Result<std::vector<std::tuple<std::string, std::string, int64_t>>>
  LastSeqs() = 0;
  // Calls `fn(payload, outcome)` for every resolved alert in seq order (after a replay, so that
  // the engine's history shows the outcomes: Engine::RecordAlertOutcome).
  [[nodiscard]] virtual Status ForEachResolvedAlert(
      const std::function<void(const std::string& payload, const std::string& outcome)>& fn) = 0;

  // Re-reads the highest committed seq (start-up).
  [[nodiscard]] virtual Status LoadSeq() = 0;
  virtual int64_t last_alert_seq() const = 0;
};

class StoreJournal final : public Journal {
 public:
  // `store` and `policy` must outlive the journal; `policy` is read at each commit (first
  // escalation deadlines), so a reload takes effect at the next one.
  StoreJournal(Store& store, const Policy& policy);

  Result<CommittedBatch> Commit(JournalEntry* entry) override;
  // One store transaction for the whole group: every entry is kept, or none (and the seq counter
  // is as it was).
  GroupCommit CommitGroup(const std::vector<JournalEntry*>& entries) override;
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override;
  Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) override;
  Status ForEachHandledKey(const Store::HandledKeyFn& fn) override {
    return store_.ForEachHandledKey(fn);
  }
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override {
    return store_.LastSeqs();
  }
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>& fn) override;
  Status LoadSeq() override;
  int64_t last_alert_seq() const override { return committed_alert_seq_.load(); }
  std::optional<JournalPosition> LastHandledCommitted() const override {
    std::lock_guard lock(position_mu_);
    return last_handled_;
  }

 private:
  mutable std::mutex position_mu_;
  std::optional<JournalPosition> last_handled_;  // guarded by position_mu_
  Status Write(JournalEntry* entry, CommittedBatch* out);
  Status WriteAlert(Alert* alert, TimePoint at, CommittedBatch* out);

  Store& store_;
  const Policy& policy_;
  int64_t next_alert_seq_ = 1;  // the committing thread's
  std::atomic<int64_t> committed_alert_seq_{0};  // the highest seq committed
  std::mt19937_64 rng_;
};

// Crockford base32 ULID: 48-bit millisecond time and 80 random bits.
std::string MakeUlid(TimePoint now, std::mt19937_64& rng);

}  // namespace bw
