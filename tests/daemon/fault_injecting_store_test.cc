// The fault-injecting store's commit stall (`stall_commit_ms N [C]`), the seam bw-load's fault
// run uses to stall fsync mid-run: the next C commits each wait N ms, then commit normally, so
// nothing is refused or lost.  The wait goes through an injected sleep, so no test here is timed.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "daemon/fault_injecting_store.h"
#include "handlers/base/time_util.h"
#include "tests/daemon/stage_support.h"
#include "tests/scratch_dir.h"

namespace bw {
namespace {

class CommitStallTest : public ::testing::Test {
 protected:
  CommitStallTest() {
    auto sqlite = OpenSqliteStore(dir_.File("breachwatch.db"));
    EXPECT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    store_ = std::make_unique<FaultInjectingStore>(
        std::move(*sqlite), faults_.path(),
        [this](std::chrono::milliseconds d) { sleeps_.push_back(d); });
  }

  void Faults(const std::string& plan) { faults_.Write(plan); }

  // One transaction holding one handled inbound row; the commit's status.
  Status StoreOne(const std::string& msg_id) {
    Status begun = store_->Begin();
    if (!begun.ok()) return begun;
    InboundRecord r;
    r.received_at = *ParseRfc3339("2016-08-13T21:00:00Z");
    r.channel = "tag";
    r.topic = "tag";
    r.source = "em";
    r.msg_id = msg_id;
    r.type = "tag.position";
    r.payload = "{}";
    r.result = "handled";
    auto inserted = store_->InsertInbound(r);
    if (!inserted.ok()) return inserted.status();
    return store_->Commit();
  }

  bool Stored(const std::string& msg_id) {
    auto p = store_->HandledPayload("em", msg_id);
    return p.ok() && p->has_value();
  }

  test::ScratchDir dir_{"bw-stall"};
  test::FaultPlan faults_{dir_.File("faults")};
  std::vector<std::chrono::milliseconds> sleeps_;
  std::unique_ptr<Store> store_;
};

TEST_F(CommitStallTest, StallsTheNextCommitsThenCommitsEveryOne) {
  ASSERT_TRUE(StoreOne("m-0").ok());
  EXPECT_TRUE(sleeps_.empty()) << "no plan, no stall";
  Faults("stall_commit_ms 750 2");
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    Status s = StoreOne(id);
    EXPECT_TRUE(s.ok()) << id << ": " << s.ToString();
  }
  ASSERT_EQ(sleeps_.size(), 2u) << "two commits stalled, the third not";
  EXPECT_EQ(sleeps_[0], std::chrono::milliseconds(750));
  EXPECT_EQ(sleeps_[1], std::chrono::milliseconds(750));
  for (const char* id : {"m-0", "m-1", "m-2", "m-3"}) {
    EXPECT_TRUE(Stored(id)) << id << ": a stalled commit still stores its batch";
  }
}

TEST_F(CommitStallTest, OneCommitWhenNoCountIsGivenAndANewPlanStallsAgain) {
  Faults("stall_commit_ms 40");
  ASSERT_TRUE(StoreOne("m-1").ok());
  ASSERT_TRUE(StoreOne("m-2").ok());
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_EQ(sleeps_[0], std::chrono::milliseconds(40));
  Faults("stall_commit_ms 60 1");
  ASSERT_TRUE(StoreOne("m-3").ok());
  ASSERT_EQ(sleeps_.size(), 2u) << "a changed plan arms the stall again";
  EXPECT_EQ(sleeps_[1], std::chrono::milliseconds(60));
  EXPECT_TRUE(Stored("m-3"));
}

TEST_F(CommitStallTest, ARemovedPlanStallsNothing) {
  Faults("stall_commit_ms 500 10");
  ASSERT_TRUE(StoreOne("m-1").ok());
  std::filesystem::remove(faults_.path());
  ASSERT_TRUE(StoreOne("m-2").ok());
  EXPECT_EQ(sleeps_.size(), 1u);
}

}  // namespace
}  // namespace bw
