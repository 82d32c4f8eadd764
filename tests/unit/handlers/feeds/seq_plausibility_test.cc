// Implausible seq jumps (handlers/feeds/seq_plausibility.h; issue 12, defect 6).
#include "handlers/feeds/seq_plausibility.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

using Verdict = SeqPlausibility::Verdict;

class SeqPlausibilityTest : public ::testing::Test {
 protected:
  SeqPlausibilityTest() { seqs_.set_options({1000, 3}); }
  Verdict Judge(int64_t seq, const std::string& source = "em") {
    return seqs_.Judge("tag", source, seq).verdict;
  }
  SeqPlausibility seqs_;
};

TEST_F(SeqPlausibilityTest, OneBogusHugeSeqIsDisregardedAndTheRealSeqsGoOn) {
  for (int64_t s = 1; s <= 12; ++s) EXPECT_EQ(Judge(s), Verdict::kPlausible);
  EXPECT_EQ(Judge(int64_t{1} << 62), Verdict::kImplausible);
  auto next = seqs_.Judge("tag", "em", 13);
  EXPECT_EQ(next.verdict, Verdict::kPlausible);
  EXPECT_EQ(next.last, 12) << "the bogus seq did not become the source's position";
  EXPECT_EQ(Judge(15), Verdict::kPlausible) << "a real gap after it is still a gap to FeedHealth";
}

TEST_F(SeqPlausibilityTest, GapsUpToTheLimitArePlausible) {
  EXPECT_EQ(Judge(1000), Verdict::kPlausible) << "a new source counts from 0";
  EXPECT_EQ(Judge(2000), Verdict::kPlausible);
  EXPECT_EQ(Judge(3001), Verdict::kImplausible);
  EXPECT_EQ(Judge(1500), Verdict::kPlausible) << "an old seq filling a gap";
  EXPECT_EQ(Judge(int64_t{1} << 40, "other-source"), Verdict::kImplausible) << "its first message";
}

TEST_F(SeqPlausibilityTest, ASourceThatReallyMovedOnIsFollowedAfterARunOfConsecutiveSeqs) {
  for (int64_t s = 1; s <= 5; ++s) Judge(s);
  EXPECT_EQ(Judge(9'000'000), Verdict::kImplausible);
  EXPECT_EQ(Judge(9'000'001), Verdict::kImplausible);
  auto third = seqs_.Judge("tag", "em", 9'000'002);
  EXPECT_EQ(third.verdict, Verdict::kResync);
  EXPECT_EQ(third.last, 5) << "the old position, where the (ordinary) gap starts";
  EXPECT_EQ(Judge(9'000'003), Verdict::kPlausible);
  EXPECT_EQ(Judge(6), Verdict::kPlausible) << "old seqs still fill the gap";
}

TEST_F(SeqPlausibilityTest, ARunBrokenByAnotherSeqStartsAgain) {
  Judge(1);
  EXPECT_EQ(Judge(5'000'000), Verdict::kImplausible);
  EXPECT_EQ(Judge(5'000'001), Verdict::kImplausible);
  EXPECT_EQ(Judge(2), Verdict::kPlausible) << "the source goes on from where it was";
  EXPECT_EQ(Judge(5'000'002), Verdict::kImplausible) << "the run was broken";
  EXPECT_EQ(Judge(int64_t{1} << 62), Verdict::kImplausible);
  EXPECT_EQ(Judge((int64_t{1} << 62) + 2), Verdict::kImplausible) << "not consecutive";
}

TEST_F(SeqPlausibilityTest, SeededFromTheStoreAndExtremeValuesDoNotOverflow) {
  seqs_.SetLast("tag", "em", 4'000'000);
  EXPECT_EQ(Judge(4'000'900), Verdict::kPlausible);
  EXPECT_EQ(Judge(INT64_MAX), Verdict::kImplausible);
  EXPECT_EQ(Judge(0), Verdict::kPlausible) << "no seq (event.submit) is not judged";
  seqs_.set_options({0, 3});
  EXPECT_EQ(Judge(INT64_MAX - 1), Verdict::kPlausible) << "max_jump 0 trusts every seq";
}

}  // namespace
}  // namespace bw
