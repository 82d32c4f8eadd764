#include "daemon/matching_watchdog.h"

#include <algorithm>

namespace bw {

bool MatchingWatchdog::MayPing(SteadyTime now, SteadyTime last_progress, bool input_waiting) {
  if (!input_waiting) {
    waiting_since_.reset();
    stalled_for_ = {};
    return true;  // nothing to do is alive
  }
  if (!waiting_since_) waiting_since_ = now;
  // Stalled since input was first seen waiting, or since the last progress if that came later.
  stalled_for_ = now - std::max(*waiting_since_, last_progress);
  return stalled_for_ < stall_limit_;
}

}  // namespace bw
