// Ticks: the time-driven work, every 500 ms, as journal entries like any input.
//  - escalation: unacknowledged alerts whose deadline passed (stored, so a restart neither loses nor
//    resets them) raise their next `unacknowledged` step (handlers/alerts/escalation_routing.h);
//  - the engine's time-driven rules (expiry warnings), recorded as a `tick` row that is replayed;
//  - retention, once a day: dead letters and audit rows past store.*_retention_days (the store
//    writes the `erasure` audit row in the purge's own transaction).
// Feed-health ticks are intake's (daemon/intake.h).
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include "config/settings.h"
#include "daemon/matcher.h"
#include "daemon/pipeline.h"
#include "daemon/store.h"
#include "handlers/engine/engine.h"

namespace bw {

class Ticks {
 public:
  // `store` is read (due deadlines) and purged; entries go through `pipeline`.
  Ticks(Store& store, Matcher& matcher, Pipeline& pipeline, const Engine& engine,
        const Config& config);

  // Once a day (the first call purges): the retention purge.
  void PurgeIfDue(TimePoint now);
  // Escalations due by `now` and the engine's rules, committed as one entry.
  void Escalate(TimePoint now);

 private:

  Store& store_;
  Matcher& matcher_;
  Pipeline& pipeline_;
  const Engine& engine_;
  const Config& config_;
  TimePoint next_retention_purge_{};  // the first tick purges
};

}  // namespace bw
