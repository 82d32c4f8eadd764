// Committer: the journal's own thread (docs/architecture.md "Threads").  The loop hands it decided
// JournalEntry values in order (Enqueue); its thread commits whatever is queued, up to
// `max_group` entries, in ONE store transaction (group commit, as leveldb's
// DBImpl::BuildBatchGroup does: the entries queued while a commit runs are committed together in
// the next one), and reports each entry's completion, in queue order, through `on_completion`
// (which posts to the loop) and TakeCompleted().
//
// A refused group keeps nothing (Journal::CommitGroup rolls the transaction back and the seq
// counter with it); its entries, and everything queued or enqueued after them, complete as refused
// and come back unchanged, in order, until the loop calls Resume() — so nothing decided later can
// become durable before an entry that was refused (the loop holds the refused ones and offers them
// again: daemon/pipeline.h).
//
// Thread-safety: Enqueue, TakeCompleted, WaitIdle, Resume, depth and stats from the loop (any one
// thread); the journal's Commit/CommitGroup run only on the committer's thread.  The journal's
// other calls (reads) stay on the loop; the store under it must be synchronised
// (daemon/synchronized_store.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "daemon/journal.h"
#include "daemon/stage_values.h"

namespace bw {

class Committer {
 public:
  struct Completion {
    uint64_t ticket = 0;
    JournalEntry entry;         // as committed (alerts with seq and id), or as refused (unchanged)
    Status status;              // ok: durable
    CommittedBatch committed;   // when ok
  };
  struct Stats {
    int64_t queued = 0;          // entries waiting or being committed now
    int64_t groups = 0;          // transactions committed
    int64_t entries = 0;         // entries committed in them
    int64_t largest_group = 0;
    int64_t refused_groups = 0;
    int64_t deepest_queue = 0;   // the most entries ever waiting at once
  };

  // `journal` must outlive the committer.  `on_completion` is called on the committer's thread
  // after completions were added (it must only post: e.g. asio::post to the loop).
  Committer(Journal& journal, size_t max_group, std::function<void()> on_completion);
  // Commits what is still queued (unless refusing), then stops the thread.
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Queues `entry` behind everything queued before; returns its ticket (increasing by 1).
  uint64_t Enqueue(JournalEntry entry);
  // The oldest completion not yet taken, if any (completions come in ticket order).
  std::optional<Completion> TakeCompleted();
  // Blocks until nothing is queued or being committed (every enqueued entry has completed).
  void WaitIdle();
  // Ends the refusal that followed a refused group: entries enqueued from now on are committed.
  // Call only once every earlier completion was taken (nothing decided before is in flight).
  void Resume();
  bool refusing() const;
  Stats stats() const;

 private:
  void Run();

  Journal& journal_;
  const size_t max_group_;
  std::function<void()> on_completion_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::pair<uint64_t, JournalEntry>> queue_;  // guarded by mu_
  size_t committing_ = 0;                                 // guarded by mu_
  bool refusing_ = false;                                 // guarded by mu_
  Status refusal_;                                        // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::deque<Completion> done_;                           // guarded by mu_
  uint64_t next_ticket_ = 1;                              // guarded by mu_
  Stats stats_;                                           // guarded by mu_
  std::thread thread_;  // last: started once everything above is built
};

}  // namespace bw
