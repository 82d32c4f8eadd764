// RFC 3339 timestamps <-> TimePoint (UTC, millisecond precision).
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "handlers/base/clock.h"

namespace bw {

// Parses "2016-08-13T20:14:05Z", "2016-08-13T21:14:05+01:00", with optional
// fractional seconds (truncated to milliseconds).  A UTC offset is required.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

// Formats as UTC with a "Z" suffix; milliseconds are shown only when non-zero.
std::string FormatRfc3339(TimePoint t);

// Seconds between two time points (b - a), as a double.
inline double SecondsBetween(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace bw
