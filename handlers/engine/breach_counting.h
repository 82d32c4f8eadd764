// Breach counting for repeat-breach alerts (protocol section 5.3).
//
// One breach is one breach episode opened (an event breaching two conditions is
// two breaches) or one breach arrest.  When a person's breaches across every
// instrument reach a new multiple of repeat_breach_threshold within
// repeat_breach_window_days, one repeat_breach alert goes to the supervisor and
// owning control room of each instrument in force.
// Pure functions; thread-safety as for handlers.
#pragma once

#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "handlers/engine/event_handler.h"

namespace bw {

// Records a breach of `instrument` by `person` at `time` in `out` (as a state
// mutation) and adds a repeat_breach alert to `out` when this breach reaches a
// new multiple of the threshold.  Breaches recorded earlier in the same `out`
// are counted too.
void CountBreach(const HandlerContext& ctx, const Event& cause, const Instrument& instrument,
                 const std::string& person, TimePoint time, AlertKind kind, Outcome* out);

// The person's breach records as they will be once `out` is applied (the
// state's plus out.pending_breaches), ordered by time; records at the same time
// in the order they were counted.
std::vector<BreachRecord> BreachesWithPending(const EngineState& state, const Outcome& out,
                                              const std::string& person);

// An alert's `history`: [{"time", "kind", "instrument_id"}...] of `records`.
boost::json::array BreachHistoryJson(const std::vector<BreachRecord>& records);

}  // namespace bw
