// The warm standby's engine (daemon/standby.h): a second engine that follows the journal with
// Matcher::Follow while the live one matches and commits, then finishes as a takeover does
// (Matcher::FinishFollowing), ends in exactly the state a restart builds from the same journal
// (Matcher::Restore) — compared as EncodeEngineState bytes, equal for equal states — having read
// each row once.  Over the real SQLite journal (ForEachHandled is the same contract on both
// backends); no daemon process, no sleeps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine_snapshot.h"
#include "tests/daemon/stage_support.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using test::LondonBoroughs;
using test::Message;
using test::T;

InboundMessage Grant(int n) {
  const std::string id = std::to_string(n);
  return Message(R"({"type":"instrument.granted","id":"g-)" + id +
                 R"(","source":"custody","time":"2016-05-10T14:00:00Z",
    "instrument":{"instrument_id":"BAIL/)" +
                 id + R"(","kind":"police_bail","subject":"PNC-)" + id +
                 R"(","protected_persons":[],
    "case_ref":"CASE-1","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
    "valid_from":"2016-05-10T14:00:00Z","valid_until":"2016-08-14T00:00:00Z",
    "conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})");
}

// A fix of PNC-<n> inside Lewisham: a breach (an alert, a breach record, history).
InboundMessage Fix(int n, const std::string& msg_id, const char* time) {
  return Message(R"({"type":"tag.position","id":")" + msg_id + R"(","source":"em","time":")" +
                 time + R"(","person_id":"PNC-)" + std::to_string(n) + R"(","device_id":"TAG-1",
    "at":[-0.026769491892293,51.456018429508376],"accuracy_m":10})");
}

// Counts the rows read back from the journal.
class CountingJournal final : public test::ForwardingJournal {
 public:
  using ForwardingJournal::ForwardingJournal;
  Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) override {
    return inner_.ForEachHandled(
        after_row, [&](int64_t row, const std::string& channel, const std::string& payload) {
          ++rows_read;
          fn(row, channel, payload);
        });
  }
  int rows_read = 0;
};

// A node on the shared store: its engine, journal and matcher.
struct Node {
  explicit Node(const std::filesystem::path& dir)
      : clock(T("2016-08-13T21:00:00Z")), engine(clock, LondonBoroughs(), Policy{}) {
    std::filesystem::create_directories(dir);
    auto opened = OpenSqliteStore((dir / "store.db").string());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
    journal = std::make_unique<StoreJournal>(*store, policy);
    EXPECT_TRUE(journal->LoadSeq().ok());
    counting = std::make_unique<CountingJournal>(*journal);
    matcher = std::make_unique<Matcher>(engine, *counting, clock, 1 << 20);
  }
  // Matches and commits `batch` as the pipeline does; returns the committed alerts.
  std::vector<CommittedAlert> Handle(const std::vector<InboundMessage>& batch) {
    std::vector<ItemOutcome> outcomes;
    auto entry = matcher->Match(batch, &outcomes);
    EXPECT_TRUE(entry.ok()) << entry.status().ToString();
    if (!entry.ok()) return {};
    for (const auto& o : outcomes) EXPECT_EQ(o.result, ItemResult::kHandled) << o.message;
    auto committed = journal->Commit(&*entry);
    EXPECT_TRUE(committed.ok()) << committed.status().ToString();
    return committed.ok() ? committed->alerts : std::vector<CommittedAlert>{};
  }
  // alert.resolve as the control server commits it and tells the engine.
  void Resolve(const Alert& alert, const std::string& outcome) {
    JournalEntry entry;
    entry.at = clock.Now();
    AlertUpdate u;
    u.kind = AlertUpdate::Kind::kResolve;
    u.alert_id = alert.alert_id;
    u.by = "MP-PC1234";
    u.at = clock.Now();
    u.outcome = outcome;
    entry.alert_updates.push_back(u);
    ASSERT_TRUE(journal->Commit(&entry).ok());
    matcher->AlertResolved(alert, outcome);
  }
  // The time-driven rules as the ticks run them (a `tick` row when they change anything).
  void Tick(TimePoint now) {
    JournalEntry entry;
    entry.at = now;
    ASSERT_TRUE(matcher->MatchTick(now, &entry).ok());
    if (!entry.items.empty()) {
      ASSERT_TRUE(journal->Commit(&entry).ok());
    }
  }
  std::string State() const { return EncodeEngineState(engine.state()); }

  ManualClock clock;
  Policy policy;
  Engine engine;
  std::unique_ptr<Store> store;
  std::unique_ptr<StoreJournal> journal;
  std::unique_ptr<CountingJournal> counting;
  std::unique_ptr<Matcher> matcher;
};

class StandbyFollow : public ::testing::Test {
 protected:
  StandbyFollow()
      : dir_(std::filesystem::temp_directory_path() /
             ("bw-standby-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    active_ = std::make_unique<Node>(dir_);
    standby_ = std::make_unique<Node>(dir_);
  }
  ~StandbyFollow() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<Node> active_, standby_;
};

TEST_F(StandbyFollow, AFollowingEngineTakesOverInTheStateARestartBuildsReadingEachRowOnce) {
  ASSERT_TRUE(active_->matcher->Restore().ok());
  ASSERT_TRUE(standby_->matcher->Restore().ok());  // an empty journal: nothing to read

  // The active's history, the standby following between batches.
  std::vector<InboundMessage> grants;
  for (int n = 1; n <= 5; ++n) grants.push_back(Grant(n));
  active_->Handle(grants);
  auto followed = standby_->matcher->Follow();
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(*followed, 5);
  auto alerts = active_->Handle(
      {Fix(1, "f-1", "2016-08-13T20:30:00Z"), Fix(2, "f-2", "2016-08-13T20:31:00Z")});
  ASSERT_FALSE(alerts.empty());
  followed = standby_->matcher->Follow();
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(*followed, 2);
  followed = standby_->matcher->Follow();  // nothing new
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(*followed, 0);
  // Not journaled as inbound rows: an outcome (told to the engine by the control server), and a
  // run of the time-driven rules (journaled as a tick row: the instruments expire tomorrow).
  active_->Resolve(alerts.front().alert, "arrested");
  active_->Tick(T("2016-08-13T21:00:00Z"));
  // The tail the takeover reads: one more breach, committed after the standby's last follow.
  active_->Handle({Fix(3, "f-3", "2016-08-13T20:32:00Z")});

  const int rows_before_takeover = standby_->counting->rows_read;
  auto tail = standby_->matcher->Follow();
  ASSERT_TRUE(tail.ok());
  ASSERT_TRUE(standby_->matcher->FinishFollowing().ok());
  const int tick_rows = static_cast<int>(*tail) - 1;
  EXPECT_GE(tick_rows, 0);
  EXPECT_EQ(standby_->counting->rows_read - rows_before_takeover, 1 + tick_rows)
      << "the takeover reads the tail only";
  EXPECT_EQ(standby_->counting->rows_read, 5 + 2 + 1 + tick_rows) << "each row read once";
  EXPECT_EQ(standby_->matcher->replayed_through().row,
            active_->journal->LastHandledCommitted()->row);

  // What a restart builds from the same journal.
  Node restarted(dir_);
  ASSERT_TRUE(restarted.matcher->Restore().ok());
  EXPECT_EQ(standby_->State(), restarted.State());
  EXPECT_EQ(standby_->State(), active_->State());
}

TEST_F(StandbyFollow, WithoutFinishingTheOutcomesTheStandbyWouldDifferFromARestart) {
  // The outcome of an alert.resolve reaches the engine only through FinishFollowing: this is
  // what makes it necessary (it fails if Follow alone gave a restart's state).
  ASSERT_TRUE(active_->matcher->Restore().ok());
  ASSERT_TRUE(standby_->matcher->Restore().ok());
  active_->Handle({Grant(1)});
  auto alerts = active_->Handle({Fix(1, "f-1", "2016-08-13T20:30:00Z")});
  ASSERT_FALSE(alerts.empty());
  active_->Resolve(alerts.front().alert, "warned");
  ASSERT_TRUE(standby_->matcher->Follow().ok());
  Node restarted(dir_);
  ASSERT_TRUE(restarted.matcher->Restore().ok());
  EXPECT_NE(standby_->State(), restarted.State());
  ASSERT_TRUE(standby_->matcher->FinishFollowing().ok());
  EXPECT_EQ(standby_->State(), restarted.State());
}

TEST_F(StandbyFollow, TheDeduplicationMemoryLearnsTheFollowedIds) {
  ASSERT_TRUE(active_->matcher->Restore().ok());
  ASSERT_TRUE(standby_->matcher->Restore().ok());
  active_->Handle({Grant(1), Fix(1, "f-1", "2016-08-13T20:30:00Z")});
  ASSERT_TRUE(standby_->matcher->Follow().ok());
  ASSERT_TRUE(standby_->matcher->FinishFollowing().ok());
  // After the takeover, the feed's replay sends the fix again: a duplicate, told apart from
  // memory (byte for byte) without reading the journal.
  const int64_t reads = standby_->matcher->dedup_journal_reads();
  std::vector<ItemOutcome> outcomes;
  auto entry = standby_->matcher->Match({Fix(1, "f-1", "2016-08-13T20:30:00Z")}, &outcomes);
  ASSERT_TRUE(entry.ok());
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].result, ItemResult::kDuplicate);
  EXPECT_EQ(standby_->matcher->dedup_journal_reads(), reads);
}

}  // namespace
}  // namespace bw
