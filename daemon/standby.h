// WarmStandby: a PostgreSQL-backed daemon's part in active/standby (docs/ha.md), from start-up to
// its stop: while another node is active it keeps its engine current from the journal, and when
// it takes over it catches up only the rows committed after the last one it applied.
//
// While a standby, every Poll() (every kPollInterval, on the daemon's thread):
//  1. tries once to take the leadership (Leadership::TryAcquire); on success Poll() returns true
//     and the daemon calls TakeOver() and starts as the active node;
//  2. otherwise reads who is active (for the status and the refusals that name it) and applies
//     the handled rows committed since the last poll to the engine (Matcher::Follow, the replay
//     start-up uses), so that the engine's state is the journal's up to its last applied row.
//
// TakeOver(): applies the tail (rows committed after the last applied one, including any the
// old active committed between the last poll and its death), then what a restart rebuilds
// besides the events (Matcher::FinishFollowing: seq positions, resolved alerts' outcomes).  No
// full replay: the engine is then what Matcher::Restore would build from the same journal.
//
// Why the tail is complete: rows are numbered in commit order by the one writer that holds the
// term (the active commits one transaction at a time), and TryAcquire's term update waits for a
// commit in flight (daemon/pg_store.h), so every row the old active ever commits is visible
// before the first read after the takeover, and numbered after the rows already applied.
//
// A standby writes nothing to the store (its store is fenced out until it takes over): the
// control server answers `status` and refuses everything else naming the active node
// (RefusalNamingActive, daemon/control/control_server.h).
//
// Thread-safety: not synchronised; the daemon's thread (the store's and the engine's).
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/journal.h"
#include "daemon/leadership.h"
#include "daemon/matcher.h"
#include "daemon/store.h"
#include "handlers/base/clock.h"

namespace bw {

class WarmStandby {
 public:
  static constexpr std::chrono::milliseconds kPollInterval{200};

  // Every reference must outlive this.  `journal` is the active node's commit path after a
  // takeover (its last committed row is the position shown then).
  WarmStandby(Leadership& leadership, Matcher& matcher, Store& store, const Journal& journal,
              const Clock& clock, std::string node_name);

  // One try at the leadership, then (still a standby) one follow of the journal.  Returns true
  // once this node is active; errors are logged (at most every 10 s) and the next poll retries.
  bool Poll();
  // The catch-up of a node that has just become active (Poll returned true).  On error the
  // engine does not include everything committed: the caller must not serve (it stops).
  [[nodiscard]] Status TakeOver();

  bool is_standby() const { return !leadership_.active() && !took_over_; }
  // While a standby: why a request that is not `status` is refused, naming the active node and
  // its term; "" once this node is active.
  std::string RefusalNamingActive() const;

  // The `ha` object of `status` (docs/control.md) and its Prometheus lines (docs/observe.md).
  // Non-const: the lag is read from the store at the time of asking.
  boost::json::object StatusJson();
  std::string Metrics();

  // Rows applied by Follow while a standby, and at the takeover (the tail).
  int64_t rows_followed() const { return rows_followed_; }
  int64_t takeover_tail_rows() const { return takeover_tail_rows_; }

 private:
  struct Lag {
    int64_t rows = 0;
    double seconds = 0;
  };
  // How far the engine is behind the journal's head (standby only); nullopt: unknown.
  std::optional<Lag> ReadLag();
  // The last handled row the engine includes: replayed/followed, or committed since.
  int64_t LastAppliedRow() const;
  void LogError(const std::string& what, const Status& s);

  Leadership& leadership_;
  Matcher& matcher_;
  Store& store_;
  const Journal& journal_;
  const Clock& clock_;
  const std::string node_name_;
  bool took_over_ = false;
  bool announced_ = false;
  LeaderView active_;  // as last read
  int64_t rows_followed_ = 0;
  int64_t takeover_tail_rows_ = 0;
  double takeover_catch_up_ms_ = 0;
  std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace bw
