// A source's numbering over the wire: an implausible seq jump (issue 12, defect 6) and a source's
// first message (protocol 9.5).  The real daemon, feeds over ZeroMQ, feed_gap read back with
// alerts.since.
#include <gtest/gtest.h>

#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

// The (from, to) of every feed_gap raised for `source`.
std::vector<std::pair<int64_t, int64_t>> Gaps(DaemonProcess& d, const std::string& source) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& a : AlertsOfKind(d, "feed_gap")) {
    if (a.at("source").as_string() == source) {
      out.emplace_back(a.at("from_seq").as_int64(), a.at("to_seq").as_int64());
    }
  }
  return out;
}

// Before: after one heartbeat with seq 2^62 every later real seq looked like an old message
// filling a gap, so real losses raised no feed_gap, even after a restart (the bogus seq was
// stored and read back as the source's position).
TEST(SeqNumbering, OneBogusHugeSeqDoesNotBlindGapDetectionAcrossARestart) {
  DaemonProcess d;
  d.config().policy.gap_fill_s = 1;
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 10; ++seq) d.Publish("tag", Heartbeat(seq));
  d.Publish("tag", Heartbeat(int64_t{1} << 62));
  d.Publish("tag", Heartbeat(11));
  d.Publish("tag", Heartbeat(13));  // 12 is lost
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 13; })) << Handled(d) << "\n" << d.log();
  ASSERT_TRUE(Eventually([&] { return !Gaps(d, "em-provider").empty(); }, milliseconds(6000)))
      << "the loss of seq 12 went unseen\n"
      << d.log();
  EXPECT_EQ(Gaps(d, "em-provider"), (std::vector<std::pair<int64_t, int64_t>>{{12, 12}}));
  // The control rooms are told of the implausible seq (its event was handled).
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_rejected").empty(); }));
  const auto rejected = AlertsOfKind(d, "feed_rejected").front();
  EXPECT_EQ(rejected.at("reason").as_string(), "seq_jump");
  EXPECT_EQ(rejected.at("latest_disregarded_seq").as_int64(), int64_t{1} << 62);

  d.Kill9();
  ASSERT_TRUE(d.Start()) << d.log();
  auto status = d.Call("status");
  for (const auto& f : status.at("feeds").as_array()) {
    if (f.at("name").as_string() == "tag") {
      EXPECT_EQ(f.at("last_seq").at("em-provider").as_int64(), 13)
          << "the store gave back the bogus seq as the source's position";
    }
  }
  d.Publish("tag", Heartbeat(15));  // 14 is lost
  ASSERT_TRUE(Eventually([&] { return Gaps(d, "em-provider").size() == 2; }, milliseconds(6000)))
      << "the loss of seq 14 after the restart went unseen\n"
      << d.log();
  EXPECT_EQ(Gaps(d, "em-provider").back(), (std::pair<int64_t, int64_t>{14, 14}));
}

// A source that really moved on (it renumbered, or the daemon was away for longer than any
// plausible gap) is followed once it carries on from there.
TEST(SeqNumbering, ASourceThatReallyJumpedIsFollowedAfterConsecutiveSeqs) {
  DaemonProcess d;
  d.config().policy.gap_fill_s = 1;
  d.config().policy.max_seq_jump = 100;
  d.config().policy.seq_resync_after = 3;
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 5; ++seq) d.Publish("tag", Heartbeat(seq));
  for (int64_t seq = 1000; seq <= 1003; ++seq) d.Publish("tag", Heartbeat(seq));
  d.Publish("tag", Heartbeat(1005));  // 1004 is lost
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 10; })) << Handled(d) << "\n" << d.log();
  ASSERT_TRUE(Eventually([&] { return Gaps(d, "em-provider").size() == 2; }, milliseconds(6000)))
      << d.log();
  // The jump itself is a gap (6..1001: 1000 and 1001 were handled but their seqs disregarded
  // before the source was followed), and the loss after it another.
  EXPECT_EQ(Gaps(d, "em-provider"),
            (std::vector<std::pair<int64_t, int64_t>>{{6, 1001}, {1004, 1004}}));
}

// Protocol 9.5: the store holds nothing from a source and its first message has seq 5: 1 to 4 were
// never seen.  A feed configured to join mid-stream takes its first seq as it comes.
TEST(SeqNumbering, FirstMessageWithSeqAboveOneOpensAGapUnlessTheFeedJoinsMidStream) {
  DaemonProcess d;
  d.config().policy.gap_fill_s = 1;
  d.feed_config("check").joins_mid_stream = true;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("tag", Heartbeat(5));
  d.Publish("check", Heartbeat(5000, "checks-met"));
  d.Publish("check", Heartbeat(5001, "checks-met"));
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 3; })) << Handled(d) << "\n" << d.log();
  ASSERT_TRUE(Eventually([&] { return !Gaps(d, "em-provider").empty(); }, milliseconds(6000)))
      << d.log();
  EXPECT_EQ(Gaps(d, "em-provider"), (std::vector<std::pair<int64_t, int64_t>>{{1, 4}}));
  std::this_thread::sleep_for(milliseconds(1500));  // past gap_fill_s and a tick
  EXPECT_TRUE(Gaps(d, "checks-met").empty()) << "the check feed joins mid-stream";
}

}  // namespace
}  // namespace bw::testing
