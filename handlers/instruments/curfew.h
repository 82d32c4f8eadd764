// Curfew windows (protocol sections 3 and 5.1): is an instant inside one of a
// curfew condition's weekly windows, read on the wall clock of the condition's
// time zone?
//
// A CurfewWindow names the local days on which it STARTS (0 = Sunday ... 6 =
// Saturday) and its local start/end times; end <= start means it runs past
// midnight into the next day.  Local times become instants with the IANA
// rules of `Condition::tz` (Howard Hinnant's date/tz):
//   - a local time that does not exist (the spring-forward gap) is taken as
//     the first valid instant after it, i.e. the transition instant: a window
//     01:00-03:00 Europe/London on 2026-03-29 covers [01:00Z, 02:00Z);
//   - a local time that occurs twice (the autumn fall-back hour) is taken as
//     its EARLIEST occurrence for a window start and its LATEST for a window
//     end, so a window covers both occurrences of the repeated hour.
// An instant is inside a window when start <= t < end.  Grace is measured in
// elapsed time from the window's start instant.
//
// Pure functions over values; thread-safe (the tz database is loaded once by
// the date library under its own lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/instruments/instrument.h"

namespace bw {

// One occurrence of a window of a curfew condition, as instants.
struct CurfewInterval {
  TimePoint start;          // inclusive
  TimePoint end;            // exclusive
  size_t window_index = 0;  // index into Condition::windows
};

// The occurrence of a window of `c` that contains `t` and started at least
// `grace` before it (start + grace <= t < end), or nullopt.  When windows
// overlap, the one that started earliest.  BadInput (field "tz") when `c.tz`
// is not a known time zone — impossible for a decoded instrument, which is
// rejected on an unknown zone.
Result<std::optional<CurfewInterval>> ActiveCurfewWindow(
    const Condition& c, TimePoint t, std::chrono::minutes grace = std::chrono::minutes{0});

// True when `t` is inside some window of `c` and at least `grace` after that
// window's start.  False for an unknown time zone (see ActiveCurfewWindow).
bool InCurfewWindow(const Condition& c, TimePoint t,
                    std::chrono::minutes grace = std::chrono::minutes{0});

// "mon,tue 19:00-07:00 Europe/London", for summaries.
std::string DescribeCurfewWindow(const Condition& c, size_t window_index);

}  // namespace bw
