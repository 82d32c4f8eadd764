// The risk of an instrument's case (protocol 9.2): the DASH/DARA level, MARAC,
// MAPPA level and PNC warning markers, decoded from the instrument's optional
// `risk` object with errors naming the field, and the rule that makes a case
// high risk.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"

namespace bw {

struct Risk {
  std::string level;                   // "standard", "medium", "high" or empty (not given)
  std::optional<bool> marac;           // open at a MARAC
  std::optional<int64_t> mappa_level;  // 0-3
  std::vector<std::string> markers;    // PNC warning markers as given (VI, WE, FI...)
  std::string tool;                    // e.g. DASH, DARA
  std::optional<TimePoint> assessed_at;
  std::optional<bool> dvds_disclosed;
  boost::json::object raw;  // the object as received (what alerts and replies carry)
};

// High risk: level high, or marac true, or mappa_level >= 2.
bool IsHighRisk(const Risk& risk);

// The `risk` member of instrument object `instrument` (absent or null: none).
// Every field is optional; a wrong one is BadInput naming it, e.g.
// "instrument.risk.mappa_level".  `path` is the instrument's (e.g. "instrument").
Result<std::optional<Risk>> DecodeRisk(const boost::json::object& instrument,
                                       const std::string& path);

}  // namespace bw
