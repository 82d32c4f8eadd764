// Feed sequence gaps and liveness, with an injected clock.
#include "handlers/feeds/feed_health.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

using std::chrono::seconds;

class FeedHealthTest : public ::testing::Test {
 protected:
  FeedHealthTest() : t0_(TimePoint(seconds(1'700'000'000))) { health_.AddFeed("tag", 60, t0_); }
  TimePoint t0_;
  FeedHealth health_;
};

TEST_F(FeedHealthTest, ConsecutiveSeqsOpenNoGap) {
  for (int64_t s = 1; s <= 100; ++s) EXPECT_FALSE(health_.Observe("tag", "em", s, t0_, 10));
  EXPECT_EQ(health_.LastSeq("tag", "em"), 100);
  EXPECT_EQ(health_.MissingCount(), 0);
}

TEST_F(FeedHealthTest, DroppedRangeOpensGapThatReplayFills) {
  for (int64_t s = 1; s <= 499; ++s) health_.Observe("tag", "em", s, t0_, 10);
  auto gap = health_.Observe("tag", "em", 511, t0_, 10);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->from_seq, 500);
  EXPECT_EQ(gap->to_seq, 510);
  EXPECT_EQ(health_.MissingCount(), 11);
  for (int64_t s = 500; s <= 510; ++s) EXPECT_FALSE(health_.Observe("tag", "em", s, t0_, 10));
  EXPECT_EQ(health_.MissingCount(), 0);
  EXPECT_TRUE(health_.ExpiredGaps(t0_ + seconds(11)).empty());
  EXPECT_EQ(health_.LastSeq("tag", "em"), 511);
}

TEST_F(FeedHealthTest, UnfilledGapIsReportedOnceAtItsDeadline) {
  health_.SetLastSeq("tag", "em", 498);  // 1..498 stored before
  health_.Observe("tag", "em", 499, t0_, 10);
  health_.Observe("tag", "em", 511, t0_, 10);
  health_.Observe("tag", "em", 505, t0_, 10);  // one of them arrives late
  EXPECT_TRUE(health_.ExpiredGaps(t0_ + seconds(9)).empty());
  auto expired = health_.ExpiredGaps(t0_ + seconds(10));
  ASSERT_EQ(expired.size(), 2u);  // 500-504 and 506-510 still missing
  EXPECT_EQ(expired[0].from_seq, 500);
  EXPECT_EQ(expired[0].to_seq, 504);
  EXPECT_EQ(expired[1].from_seq, 506);
  EXPECT_EQ(expired[1].to_seq, 510);
  EXPECT_TRUE(health_.ExpiredGaps(t0_ + seconds(20)).empty());
}

TEST_F(FeedHealthTest, StoredSeqAtStartUpOpensNoGapButLaterJumpsDo) {
  health_.SetLastSeq("tag", "em", 1000);
  EXPECT_FALSE(health_.Observe("tag", "em", 1001, t0_, 10));
  auto gap = health_.Observe("tag", "em", 1005, t0_, 10);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->from_seq, 1002);
}

TEST_F(FeedHealthTest, SourcesAreTrackedSeparately) {
  health_.Observe("tag", "a", 1, t0_, 10);
  health_.Observe("tag", "b", 1, t0_, 10);
  EXPECT_FALSE(health_.Observe("tag", "a", 2, t0_, 10));
  EXPECT_FALSE(health_.Observe("tag", "b", 2, t0_, 10));
}

TEST_F(FeedHealthTest, SilenceAfterSilentAfterAndRestoredOnce) {
  EXPECT_TRUE(health_.CheckSilence(t0_ + seconds(59)).empty());
  auto silent = health_.CheckSilence(t0_ + seconds(60));
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_TRUE(silent[0].silent);
  EXPECT_TRUE(health_.CheckSilence(t0_ + seconds(120)).empty());  // reported once
  auto restored = health_.Heard("tag", t0_ + seconds(130));
  ASSERT_TRUE(restored);
  EXPECT_FALSE(restored->silent);
  EXPECT_EQ(restored->quiet_for_s, 130);
  EXPECT_FALSE(health_.Heard("tag", t0_ + seconds(131)));
}

// Protocol 9.5: nothing stored from a source and its first seq is N > 1: 1..N-1 were never seen.
TEST_F(FeedHealthTest, FirstMessageWithSeqAboveOneOpensAGapFromOne) {
  auto gap = health_.Observe("tag", "em-new", 5, t0_, 10);
  ASSERT_TRUE(gap) << "a source that started before the daemon subscribed";
  EXPECT_EQ(gap->from_seq, 1);
  EXPECT_EQ(gap->to_seq, 4);
  EXPECT_FALSE(health_.Observe("tag", "em-first", 1, t0_, 10)) << "seq 1 first: nothing missing";
  health_.SetLastSeq("tag", "em-stored", 40);
  EXPECT_FALSE(health_.Observe("tag", "em-stored", 41, t0_, 10)) << "the store holds 1..40";
}

TEST_F(FeedHealthTest, FeedThatJoinsMidStreamTakesTheFirstSeqAsItComes) {
  health_.AddFeed("check", 60, t0_, /*joins_mid_stream=*/true);
  EXPECT_FALSE(health_.Observe("check", "checks-met", 5000, t0_, 10));
  auto gap = health_.Observe("check", "checks-met", 5002, t0_, 10);
  ASSERT_TRUE(gap) << "after the first message, gaps as ever";
  EXPECT_EQ(gap->from_seq, 5001);
}

}  // namespace
}  // namespace bw
