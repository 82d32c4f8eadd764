// Leadership: which one of the daemons sharing a store is the active one (docs/ha.md).
//
// Only the active daemon commits, publishes and serves control requests; the others are warm
// standbys (daemon/standby.h) that follow the journal, answer only `status`, and wait to take
// over.  Becoming active increments the cluster's fencing term, and
// the store refuses every commit made under an older term (daemon/pg_store.h), so a former active
// that was paused or cut off can never write after another took over — whatever it believes.
//
// `Leadership` is the seam; `PgLeadership` (daemon/pg_leadership.h) is the PostgreSQL one: a
// session-level advisory lock held by the store's own session (a lost session loses the lock and
// the right to commit together) and the `leadership` row's term.
//
// Thread-safety: not synchronised; one owner thread (the store's).
#pragma once

#include <cstdint>
#include <string>

#include "handlers/base/status.h"

namespace bw {

// The cluster's view of who is active.
struct LeaderView {
  int64_t term = 0;         // 0: no daemon was ever active
  std::string holder;       // the active node's name (its [store] node_name), may be stale
  std::string since;        // RFC 3339, when it took over
};

class Leadership {
 public:
  virtual ~Leadership() = default;

  // Tries once, without waiting, to become the active node.  On success the fencing term is
  // incremented and the store fenced to it.  Returns whether this node is active.
  [[nodiscard]] virtual Result<bool> TryAcquire() = 0;
  // Whether this node is still the active one: its session (and with it the lock) is alive and
  // the term is still its own.  false is final: a node that lost leadership must stop writing
  // and acquire again (as a standby would) before it writes anything.
  [[nodiscard]] virtual Result<bool> StillActive() = 0;
  virtual bool active() const = 0;
  // This node's term while active, else 0.
  virtual int64_t term() const = 0;
  // The cluster's current term and holder (read from the store).
  [[nodiscard]] virtual Result<LeaderView> Current() = 0;
};

}  // namespace bw
