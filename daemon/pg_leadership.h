// PgLeadership: Leadership (daemon/leadership.h) on the PostgreSQL store.
//
// Active = holding the session-level advisory lock kPgLeaderLockKey in the store's own session.
// Taking it increments `leadership.term` (and records the holder) in one statement, then fences
// the store to the new term.  The lock goes with the session: when the active daemon dies, or
// its session is terminated or cut off, the server releases it and a standby's next TryAcquire
// succeeds; the term it writes makes every later commit of the old active fail.
//
// Thread-safety: not synchronised; the store's owner thread.
#pragma once

#include <string>

#include "daemon/leadership.h"
#include "daemon/pg_store.h"

namespace bw {

class PgLeadership final : public Leadership {
 public:
  // `store` must outlive this; `node_name` is recorded as the holder.
  PgLeadership(PgStore& store, std::string node_name)
      : store_(store), node_name_(std::move(node_name)) {}

  Result<bool> TryAcquire() override;
  Result<bool> StillActive() override;
  bool active() const override { return term_ > 0; }
  int64_t term() const override { return term_; }
  Result<LeaderView> Current() override;

 private:
  void Lose();

  PgStore& store_;
  std::string node_name_;
  int64_t term_ = 0;
  int backend_pid_ = 0;  // the session that took the lock
};

}  // namespace bw
