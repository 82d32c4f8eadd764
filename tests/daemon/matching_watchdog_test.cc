// The watchdog's decision (issue 12, "one query stops breach handling"): systemd is pinged only
// while the matching path has nothing waiting or has made progress within the stall limit.  Times
// are injected (a steady time point moved by hand), no sleeps.
#include "daemon/matching_watchdog.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

using std::chrono::seconds;

class MatchingWatchdogTest : public ::testing::Test {
 protected:
  MatchingWatchdog::SteadyTime At(int s) const { return t0_ + seconds(s); }
  MatchingWatchdog::SteadyTime t0_{seconds(1000)};
  MatchingWatchdog watchdog_{seconds(15)};
};

TEST_F(MatchingWatchdogTest, NothingWaitingIsAliveHoweverLongAgoTheLastBatchWas) {
  EXPECT_TRUE(watchdog_.MayPing(At(0), At(-3600), false));
  EXPECT_TRUE(watchdog_.MayPing(At(15), At(-3600), false));
  EXPECT_TRUE(watchdog_.MayPing(At(600), At(-3600), false));
}

TEST_F(MatchingWatchdogTest, InputWaitingWithNothingHandledForTheStallLimitStopsThePings) {
  // Idle for an hour, then input arrives and is never taken.
  EXPECT_TRUE(watchdog_.MayPing(At(0), At(-3600), true)) << "it has only just begun to wait";
  EXPECT_TRUE(watchdog_.MayPing(At(14), At(-3600), true));
  EXPECT_FALSE(watchdog_.MayPing(At(15), At(-3600), true));
  EXPECT_EQ(watchdog_.stalled_for(), seconds(15));
  EXPECT_FALSE(watchdog_.MayPing(At(30), At(-3600), true));
}

TEST_F(MatchingWatchdogTest, InputWaitingWhileBatchesAreHandledIsAlive) {
  // A busy feed: input is always waiting, and the pipeline keeps handling it.
  for (int s = 0; s <= 120; s += 15) {
    EXPECT_TRUE(watchdog_.MayPing(At(s), At(s - 1), true)) << s;
  }
}

TEST_F(MatchingWatchdogTest, ProgressThenAStallCountsFromTheLastProgress) {
  EXPECT_TRUE(watchdog_.MayPing(At(0), At(-1), true));
  EXPECT_TRUE(watchdog_.MayPing(At(15), At(10), true)) << "handled 5 s ago";
  EXPECT_TRUE(watchdog_.MayPing(At(24), At(10), true));
  EXPECT_FALSE(watchdog_.MayPing(At(25), At(10), true)) << "nothing handled for 15 s";
  EXPECT_EQ(watchdog_.stalled_for(), seconds(15));
  // The path comes back: pings again.
  EXPECT_TRUE(watchdog_.MayPing(At(30), At(29), true));
}

TEST_F(MatchingWatchdogTest, AnEmptyQueueBetweenChecksStartsTheWaitAfresh) {
  EXPECT_TRUE(watchdog_.MayPing(At(0), At(-3600), true));
  EXPECT_TRUE(watchdog_.MayPing(At(10), At(-3600), false));
  EXPECT_TRUE(watchdog_.MayPing(At(20), At(-3600), true)) << "new input, seen waiting just now";
  EXPECT_TRUE(watchdog_.MayPing(At(34), At(-3600), true));
  EXPECT_FALSE(watchdog_.MayPing(At(35), At(-3600), true));
}

}  // namespace
}  // namespace bw
