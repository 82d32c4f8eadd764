// MatchingWatchdog: whether the systemd watchdog may be pinged (issue 12).  A ping must prove that
// breaches are being handled, not merely that the event loop turns: it is sent only while the
// matching path (intake → matcher → journal) has nothing waiting, or has made progress recently.
//
// Progress is what the pipeline records (Pipeline::last_progress): a batch handled, or offered to a
// store that refused it, or a retry to restore the engine — while the store fails, the daemon is
// degraded but doing all it can, and a restart would not mend the disk.  Input waiting is a feed
// socket with a message ready, or a refused batch held (Intake::InputWaiting).  When input has
// waited longer than `stall_limit` with no progress since it began to wait, MayPing says no, and
// systemd restarts the daemon once WatchdogSec passes without a ping (docs/reliability.md).
//
// Pure: the times are passed in (the daemon's steady clock; tests pass any).  Not synchronised.
#pragma once

#include <chrono>
#include <optional>

namespace bw {

class MatchingWatchdog {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  explicit MatchingWatchdog(std::chrono::steady_clock::duration stall_limit)
      : stall_limit_(stall_limit) {}

  // Asked once per watchdog period.  `last_progress`: when the matching path last made progress;
  // `input_waiting`: whether input waits for it now.
  bool MayPing(SteadyTime now, SteadyTime last_progress, bool input_waiting);

  // How long input has waited with no progress (zero when it is not waiting); for the log.
  std::chrono::steady_clock::duration stalled_for() const { return stalled_for_; }

 private:
  std::chrono::steady_clock::duration stall_limit_;
  std::optional<SteadyTime> waiting_since_;  // first check that found input waiting, in this run
  std::chrono::steady_clock::duration stalled_for_{};
};

}  // namespace bw
