// conditions.location (spec 7): which conditions in force forbid a place.  Pure geometry over the
// engine's state and the loaded zones, kept apart from the daemon's reply and audit.
//
// The query is paged (issue 12: one query must not stall breach handling): a
// ForbiddingConditionScan walks the instruments in id order and can stop after any number of them;
// its position() is a LocationCursor from which a later scan, over the same or a later state,
// carries on.  Over an unchanged state the pages of a scan list every forbidding condition exactly
// once, in the same order as one full scan.  LocationPageToken is the cursor as the control socket
// hands it out (`next`), bound to the query's time and place.
//
// Pure functions and values.  A scan reads `state` and `zones` while it runs: it is valid until the
// state next changes (the daemon runs one within one request, on the engine's thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "handlers/base/status.h"
#include "handlers/engine/engine_state.h"
#include "handlers/geo/zone_index.h"
#include "handlers/wire/event.h"

namespace bw {

struct ForbiddingCondition {
  std::shared_ptr<const Instrument> instrument;
  const Condition* condition = nullptr;  // one of instrument->conditions
};

// Where a scan resumes: at the instrument with the least id >= `instrument_id`, and, when that is
// `instrument_id` itself, at its condition `condition_index`.  The default is the start.
struct LocationCursor {
  std::string instrument_id;
  size_t condition_index = 0;
  bool operator==(const LocationCursor&) const = default;
};

// Conditions of instruments in force at `at` that forbid `where`: an exclusion zone that covers the
// point `where.at` or overlaps the area `where.area` (or is that area), and a not_to_attend
// address within its radius of the point or inside the area.  `area_zone` is where.area resolved
// in `zones` (null when no area was asked).  In instrument id order, each instrument's conditions
// in their order.  Each exclusion by zone code is judged once per scan (many instruments share a
// borough), so the cost per instrument is a lookup unless its zone is drawn on the order.
class ForbiddingConditionScan {
 public:
  ForbiddingConditionScan(const EngineState& state, const ZoneIndex& zones, const Location& where,
                          const Zone* area_zone, TimePoint at, const LocationCursor& from = {});

  // The next forbidding condition, having finished examining at most `max_instruments` (at least
  // 1) more instruments; nullopt when none was found among them (then done() tells whether every
  // instrument has been examined, or the caller may call again).
  std::optional<ForbiddingCondition> Next(size_t max_instruments);
  // True once every instrument has been examined.
  bool done() const { return it_ == end_; }
  // Where a later scan resumes to carry on after everything returned and examined so far.
  LocationCursor position() const;
  // Instruments finished so far.
  size_t examined() const { return examined_; }

 private:
  bool Forbids(const Condition& c);

  const EngineState& state_;
  const ZoneIndex& zones_;
  const Location& where_;
  const Zone* area_zone_;
  const TimePoint at_;
  using Versions = std::map<std::string, std::vector<InstrumentRegistry::Version>>;
  Versions::const_iterator it_;
  Versions::const_iterator end_;
  // The version of *it_ in force at `at_` (null: none), resolved on first use.
  std::shared_ptr<const Instrument> current_;
  bool resolved_ = false;
  size_t condition_index_ = 0;  // within current_'s conditions: the next to judge
  size_t examined_ = 0;
  std::unordered_map<std::string, bool> zone_code_forbids_;  // this scan's answers by zone code
};

// Every forbidding condition at once (tests and tools; the daemon pages).
std::vector<ForbiddingCondition> ConditionsForbidding(const EngineState& state,
                                                      const ZoneIndex& zones, const Location& where,
                                                      const Zone* area_zone, TimePoint at);

// The `next` token of a paged conditions.location reply: the position, and the query it belongs to
// (its time, so that later pages judge the same moment, and a digest of its place, so that a
// token is not silently applied to another place).  Text: printable ASCII, opaque to clients.
struct LocationPageToken {
  TimePoint at;
  uint64_t place_digest = 0;
  LocationCursor position;
};
// The digest of `where` that a token carries (stable across restarts and builds).
uint64_t LocationPlaceDigest(const Location& where);
std::string EncodeLocationPageToken(const LocationPageToken& token);
// BadInput naming "cursor" (reason out_of_range) when `text` is not a token this code issued.
Result<LocationPageToken> DecodeLocationPageToken(std::string_view text);

}  // namespace bw
