// Matcher: the stage between intake and the journal.  For each inbound message, in order:
// validate the frames and topic → decode (handlers/wire/event.h) → deduplicate → Engine::Decide → one
// JournalItem (handled, or a dead letter with its reason).  A batch becomes one JournalEntry.
//
// Deduplication asks, in order: the batch so far; the memory of handled ids (daemon/recent_ids.h),
// which answers "new" or "resent byte for byte" for most messages without a read; and the journal
// (HandledPayload) only when the memory cannot tell — an id it may have seen, or a payload that
// differs from the one remembered (a resend written differently, or a conflict).
//
// State: the Engine.  Each decided outcome is applied to the engine at once, so that the next
// message of the batch sees it (an instrument granted, then a fix against it).  The entry is not yet
// durable: when the journal refuses it, the pipeline holds it and commits it again as decided
// (daemon/pipeline.h).  Only when an entry cannot be kept is Restore() called, which rebuilds the
// engine from what the journal holds: the state is then exactly what it was before the batch.
//
// Thread-safety: not synchronised; one owner thread (the engine's).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/journal.h"
#include "daemon/recent_ids.h"
#include "daemon/stage_values.h"
#include "handlers/engine/engine.h"
#include "handlers/feeds/seq_plausibility.h"

namespace bw {

class EngineSnapshots;

// Inbound rows of this channel record a run of the engine's time-driven rules that changed state;
// their payload is the time the rules ran at.
inline constexpr const char* kTickChannel = "tick";

class Matcher {
 public:
  // `journal` is read for deduplication and replay only.  All references must outlive the matcher.
  // `dedup_window`: how many recent ids keep their payload's fingerprint (daemon/recent_ids.h).
  Matcher(Engine& engine, Journal& journal, const Clock& clock, int64_t max_message_bytes,
          size_t dedup_window = RecentIds::kDefaultWindow);

  // Decides `batch` in order into one entry; `outcomes` gets one per message (their alerts without
  // seq and id until committed).  An error (the journal could not be read) leaves nothing decided
  // that should be kept: call Restore().
  [[nodiscard]] Result<JournalEntry> Match(const std::vector<InboundMessage>& batch,
                                           std::vector<ItemOutcome>* outcomes);

  // Runs the engine's time-driven rules (expiry warnings) as of `now`; when they change anything,
  // appends the `tick` row that records the run (replayed like an event) with its alerts.
  [[nodiscard]] Status MatchTick(TimePoint now, JournalEntry* entry);

  // Rebuilds the engine from the journal's handled messages (start-up, and when a decided entry
  // cannot be kept: the matcher failed part-way), and the memory of handled ids, then records the
  // outcomes of the resolved alerts (they annotate the history only, so recording them after every
  // event gives the state they gave as they came).  On error the engine is stale: nothing may be
  // matched until a Restore succeeds.  With snapshots set, Restore starts from the snapshot when it
  // matches the journal and replays only the rows after it (daemon/snapshot.h); otherwise, or when
  // it does not match, from nothing.
  [[nodiscard]] Status Restore();
  bool stale() const { return stale_; }
  // Snapshots to restore from and to tell the replayed position (null: none).  Must outlive
  // the matcher.
  void set_snapshots(EngineSnapshots* snapshots) { snapshots_ = snapshots; }

  // Warm standby (daemon/standby.h): applies the handled rows committed after the last one this
  // engine includes (Restore's, then the previous Follow's) through the replay Restore uses, and
  // adds their ids to the deduplication memory.  Returns how many rows were applied.  On error
  // the rows applied before it stay applied and replayed_through() says where the engine stands:
  // the next Follow goes on from there.  The engine must not be matched against meanwhile (a
  // standby matches nothing).
  [[nodiscard]] Result<int64_t> Follow();
  // Taking over after Follow: what Restore rebuilds besides the events' effects — where each
  // source's numbering stands and the resolved alerts' outcomes (recorded after the events, as
  // Restore does) — and the position the snapshots start from.  Then the engine is what Restore
  // would build from the same journal.
  [[nodiscard]] Status FinishFollowing();
  // The last handled row the engine includes (Restore, Follow); row 0: none.
  JournalPosition replayed_through() const { return replayed_through_; }

  // A committed alert.resolve: the engine's history shows the outcome (protocol 9.1).
  void AlertResolved(const Alert& alert, const std::string& outcome);

  // The pipeline commits on another thread (daemon/committer.h): what Match() handled stays
  // remembered, as the batch so far is, until BatchDurable() says its entry is committed — the
  // journal cannot answer for an entry not yet committed.  Off by default (each Match()'s entry is
  // committed before the next).
  void set_remembers_uncommitted(bool on) { remembers_uncommitted_ = on; }
  // The oldest entry made by Match() and not yet durable is committed now.
  void BatchDurable();
  // Deduplication: how often the journal was read (HandledPayload), and the memory.
  int64_t dedup_journal_reads() const { return dedup_journal_reads_; }
  const RecentIds& recent_ids() const { return recent_; }

 private:
  // Decides one message into `item` and `out`.  Non-ok only when the journal cannot be read.
  Status MatchOne(const InboundMessage& in, TimePoint now, JournalItem* item, ItemOutcome* out);
  void Reject(const InboundMessage& in, const std::string& source, const Status& why,
              JournalItem* item, ItemOutcome* out);
  // Logs a rejection once per source (or channel) per minute, with how many were not logged.
  void LogRejection(const InboundMessage& in, const std::string& source, const Status& why);
  // Replays one handled row into the engine (Restore, Follow): a tick row runs the time-driven
  // rules at its time; an event is decoded, decided and applied, and its id remembered.
  // Returns false when the row could not be replayed (logged).
  bool ReplayRow(const std::string& channel, const std::string& payload);
  // Where each source's numbering stands, from the journal (disregarded seqs were never stored).
  Status LoadSeqPositions();
  // Records the resolved alerts' outcomes in the engine's history (after the events).
  Status RecordResolvedOutcomes();

  Engine& engine_;
  Journal& journal_;
  const Clock& clock_;
  const int64_t max_message_bytes_;
  bool stale_ = false;
  EngineSnapshots* snapshots_ = nullptr;
  JournalPosition replayed_through_;
  // (source, id) handled earlier in the batch being matched (not yet in the journal): payload.
  std::map<std::pair<std::string, std::string>, std::string> handled_in_batch_;
  // With remembers_uncommitted_: the keys each not yet durable Match() added, oldest first.
  bool remembers_uncommitted_ = false;
  std::deque<std::vector<std::pair<std::string, std::string>>> uncommitted_batches_;
  // Every (source, id) handled, and the recent ones' payload fingerprints (rebuilt by Restore).
  RecentIds recent_;
  int64_t dedup_journal_reads_ = 0;
  // Whether each message's seq is believable as its source's position (rebuilt by Restore).
  SeqPlausibility seqs_;
  std::map<std::string, TimePoint> last_reject_log_;
  std::map<std::string, int64_t> suppressed_rejects_;
};

}  // namespace bw
