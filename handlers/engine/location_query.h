// conditions.location (spec 7): which conditions in force forbid a place.  Pure geometry over the
// engine's state and the loaded zones, kept apart from the daemon's reply and audit.
//
// Pure function of its arguments; thread-safe for concurrent readers of `state`.
#pragma once

#include <memory>
#include <vector>

#include "handlers/engine/engine_state.h"
#include "handlers/wire/event.h"
#include "handlers/geo/zone_index.h"

namespace bw {

struct ForbiddingCondition {
  std::shared_ptr<const Instrument> instrument;
  const Condition* condition = nullptr;  // one of instrument->conditions
};

// Conditions of instruments in force at `at` that forbid `where`: an exclusion zone that covers the
// point `where.at` or overlaps the area `where.area` (or is that area), and a not_to_attend
// address within its radius of the point or inside the area.  `area_zone` is where.area resolved
// in `zones` (null when no area was asked).
std::vector<ForbiddingCondition> ConditionsForbidding(const EngineState& state,
                                                      const ZoneIndex& zones,
                                                      const Location& where, const Zone* area_zone,
                                                      TimePoint at);

}  // namespace bw
