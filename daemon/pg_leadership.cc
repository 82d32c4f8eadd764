// Leadership on the PostgreSQL store.  See pg_leadership.h.
#include "daemon/pg_leadership.h"

#include "daemon/pg_schema.h"
#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"

namespace bw {

void PgLeadership::Lose() {
  term_ = 0;
  backend_pid_ = 0;
  store_.FenceOut();
}

Result<bool> PgLeadership::TryAcquire() {
  if (term_ > 0) return StillActive();
  if (Status s = store_.EnsureSession(); !s.ok()) return s;
  PgConn& conn = store_.conn();
  auto locked = conn.Exec("SELECT pg_try_advisory_lock($1)", {PgInt(kPgLeaderLockKey)},
                          "leadership lock");
  if (!locked.ok()) return locked.status();
  if (locked->Text(0, 0) != "t") return false;
  // The lock is ours: a new term, which fences out every earlier holder (its commits wait for
  // this row and then see a term that is not theirs).
  auto term = conn.Exec(
      "UPDATE leadership SET term = term + 1, holder = $1, since = $2 WHERE id = 1 "
      "RETURNING term",
      {PgText(node_name_), PgText(FormatRfc3339(SystemClock().Now()))}, "leadership term");
  if (!term.ok() || term->rows() != 1) {
    conn.Exec("SELECT pg_advisory_unlock($1)", {PgInt(kPgLeaderLockKey)}, "leadership unlock")
        .status()
        .ok();
    return term.ok() ? Status::Internal("the leadership row is missing") : term.status();
  }
  term_ = term->Int(0, 0);
  backend_pid_ = conn.backend_pid();
  store_.SetFencingTerm(term_);
  return true;
}

Result<bool> PgLeadership::StillActive() {
  if (term_ == 0) return false;
  PgConn& conn = store_.conn();
  // A new session (the store reconnected) does not hold the lock the old one took.
  if (!conn.alive() || conn.backend_pid() != backend_pid_) {
    Lose();
    return false;
  }
  auto current = conn.Exec("SELECT term FROM leadership WHERE id = 1", {}, "leadership check");
  if (!current.ok()) {
    if (!conn.alive()) {
      Lose();
      return false;
    }
    return current.status();  // a statement failed: not known either way
  }
  if (current->rows() != 1 || current->Int(0, 0) != term_) {
    Lose();
    return false;
  }
  return true;
}

Result<LeaderView> PgLeadership::Current() {
  if (Status s = store_.EnsureSession(); !s.ok()) return s;
  auto r = store_.conn().Exec("SELECT term, holder, since FROM leadership WHERE id = 1", {},
                              "leadership");
  if (!r.ok()) return r.status();
  LeaderView v;
  if (r->rows() == 1) {
    v.term = r->Int(0, 0);
    v.holder = r->Text(0, 1);
    v.since = r->Text(0, 2);
  }
  return v;
}

}  // namespace bw
