// Snapshots (daemon/snapshot.h) through the matcher's Restore over the real SQLite journal: a
// matching snapshot is loaded and only the rows after it are replayed; a torn, corrupt,
// other-format or other-store snapshot is refused and the whole journal is replayed.  Every case
// ends in the state a full replay gives (compared as EncodeEngineState bytes, which are equal for
// equal states).  No daemon process, no sleeps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/snapshot.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine_snapshot.h"
#include "tests/daemon/stage_support.h"
#include "tests/scratch_dir.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using test::LondonBoroughs;
using test::T;

using test::Message;

// Bail `n` excluding its subject PNC-<n> from Lewisham (E09000023), with an inline zone too.
InboundMessage Grant(int n) {
  const std::string id = std::to_string(n);
  return Message(R"({"type":"instrument.granted","id":"g-)" + id +
                 R"(","source":"custody","time":"2016-05-10T14:00:00Z",
    "instrument":{"instrument_id":"BAIL/)" +
                 id + R"(","kind":"police_bail","subject":"PNC-)" + id +
                 R"(","protected_persons":[],
    "case_ref":"CASE-1","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
    "valid_from":"2016-05-10T14:00:00Z","valid_until":"2016-09-01T00:00:00Z",
    "conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},
      {"condition_id":"c2","kind":"exclusion_zone","zone":{"type":"Polygon","coordinates":
        [[[-0.10,51.50],[-0.09,51.50],[-0.09,51.51],[-0.10,51.51],[-0.10,51.50]]]}}]}})");
}

// A fix of PNC-<n> inside Lewisham: a breach (an episode, a breach record, history).
InboundMessage Fix(int n, const std::string& msg_id, const char* time) {
  return Message(R"({"type":"tag.position","id":")" + msg_id + R"(","source":"em","time":")" +
                 time + R"(","person_id":"PNC-)" + std::to_string(n) + R"(","device_id":"TAG-1",
    "at":[-0.026769491892293,51.456018429508376],"accuracy_m":10})");
}

// Counts the rows the matcher reads back from the journal.
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

// One store, its journal, and an engine + matcher fed through them as the daemon feeds them.
struct Daemonless {
  explicit Daemonless(const std::filesystem::path& dir)
      : clock(T("2016-08-13T21:00:00Z")), engine(clock, LondonBoroughs(), Policy{}) {
    std::filesystem::create_directories(dir);
    auto opened = OpenSqliteStore((dir / "store.db").string());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
    journal = std::make_unique<StoreJournal>(*store, policy);
    EXPECT_TRUE(journal->LoadSeq().ok());
    matcher = std::make_unique<Matcher>(engine, *journal, clock, 1 << 20);
  }

  // Matches and commits `batch`, as intake and the pipeline do.
  void Handle(const std::vector<InboundMessage>& batch) {
    std::vector<ItemOutcome> outcomes;
    auto entry = matcher->Match(batch, &outcomes);
    ASSERT_TRUE(entry.ok()) << entry.status().ToString();
    for (const auto& o : outcomes) ASSERT_EQ(o.result, ItemResult::kHandled) << o.message;
    ASSERT_TRUE(journal->Commit(&*entry).ok());
  }

  ManualClock clock;
  Policy policy;
  Engine engine;
  std::unique_ptr<Store> store;
  std::unique_ptr<StoreJournal> journal;
  std::unique_ptr<Matcher> matcher;
};

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() : snapshot_path_(dir_.File("store.db.snapshot")) {
    live_ = std::make_unique<Daemonless>(dir_.path());
  }

  // The live engine's history: grants, breaching fixes, more grants.
  void HandleSomeHistory(int first, int persons) {
    std::vector<InboundMessage> grants, fixes;
    for (int n = first; n < first + persons; ++n) {
      grants.push_back(Grant(n));
      fixes.push_back(Fix(n, "f-" + std::to_string(n), "2016-08-13T20:30:00Z"));
    }
    live_->Handle(grants);
    live_->Handle(fixes);
  }

  // Writes a snapshot of the live engine as of the journal's last handled row.
  void WriteSnapshot() {
    EngineSnapshots snapshots(snapshot_path_, std::chrono::seconds(60));
    snapshots.NotePosition(0, 0, /*replayed_rows=*/true);
    snapshots.MaybeWrite(live_->engine, *live_->journal, live_->clock.Now());
    snapshots.Wait();
    ASSERT_TRUE(std::filesystem::exists(snapshot_path_));
  }

  // A new engine restored from the same store (through a row-counting journal), with snapshots
  // read from snapshot_path_; returns how many rows it read from the journal.
  int RestoreAnew(std::string* encoded_state) {
    Daemonless fresh(dir_.path());
    CountingJournal counting(*fresh.journal);
    Matcher matcher(fresh.engine, counting, fresh.clock, 1 << 20);
    EngineSnapshots snapshots(snapshot_path_, std::chrono::seconds(60));
    matcher.set_snapshots(&snapshots);
    EXPECT_TRUE(matcher.Restore().ok());
    *encoded_state = EncodeEngineState(fresh.engine.state());
    return counting.rows_read;
  }

  std::string LiveState() { return EncodeEngineState(live_->engine.state()); }

  test::ScratchDir dir_{"bw-snapshot"};
  std::string snapshot_path_;
  std::unique_ptr<Daemonless> live_;
};

TEST_F(SnapshotTest, StartUpLoadsTheSnapshotAndReplaysOnlyTheRowsAfterIt) {
  HandleSomeHistory(1, 20);  // 40 handled rows
  WriteSnapshot();
  HandleSomeHistory(100, 3);  // 6 more
  std::string restored;
  // The snapshot's own row (to check it is the same row) and the six after it.
  EXPECT_EQ(RestoreAnew(&restored), 7);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, WithoutASnapshotTheWholeJournalIsReplayed) {
  HandleSomeHistory(1, 20);
  std::string restored;
  EXPECT_EQ(RestoreAnew(&restored), 40);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, ATornSnapshotIsRefusedAndTheWholeJournalReplayed) {
  HandleSomeHistory(1, 20);
  WriteSnapshot();
  HandleSomeHistory(100, 3);
  std::filesystem::resize_file(snapshot_path_, std::filesystem::file_size(snapshot_path_) / 2);
  EXPECT_FALSE(ReadSnapshotFile(snapshot_path_).ok());
  std::string restored;
  EXPECT_EQ(RestoreAnew(&restored), 46);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, ACorruptSnapshotIsRefusedAndTheWholeJournalReplayed) {
  HandleSomeHistory(1, 20);
  WriteSnapshot();
  {
    std::fstream f(snapshot_path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(snapshot_path_) / 2));
    f.put('\x5a');
  }
  auto read = ReadSnapshotFile(snapshot_path_);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().ToString().find("checksum"), std::string::npos)
      << read.status().ToString();
  std::string restored;
  EXPECT_EQ(RestoreAnew(&restored), 40);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, ASnapshotOfAnotherEngineStateFormatIsNotRead) {
  HandleSomeHistory(1, 20);
  WriteSnapshot();
  auto file = ReadSnapshotFile(snapshot_path_);
  ASSERT_TRUE(file.ok());
  file->engine_format = kEngineStateFormat + 1;
  ASSERT_TRUE(WriteSnapshotFile(snapshot_path_, *file).ok());
  std::string restored;
  EXPECT_EQ(RestoreAnew(&restored), 40);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, ASnapshotBeyondTheStoreIsStaleAndTheWholeJournalReplayed) {
  HandleSomeHistory(1, 20);
  WriteSnapshot();
  auto file = ReadSnapshotFile(snapshot_path_);
  ASSERT_TRUE(file.ok());
  file->position += 1000;  // a store with fewer rows than the snapshot saw
  ASSERT_TRUE(WriteSnapshotFile(snapshot_path_, *file).ok());
  std::string restored;
  EXPECT_EQ(RestoreAnew(&restored), 40);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, ASnapshotOfAnotherStoreIsRefusedAndTheWholeJournalReplayed) {
  HandleSomeHistory(1, 20);
  WriteSnapshot();
  const std::string other_snapshot =
      (dir_.path().parent_path() / (dir_.path().filename().string() + ".other")).string();
  std::filesystem::copy_file(snapshot_path_, other_snapshot,
                             std::filesystem::copy_options::overwrite_existing);
  // The store replaced by another with as many rows or more, of other messages.
  live_.reset();
  std::filesystem::remove_all(dir_.path());
  live_ = std::make_unique<Daemonless>(dir_.path());
  HandleSomeHistory(500, 25);
  std::filesystem::copy_file(other_snapshot, snapshot_path_,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(other_snapshot);
  std::string restored;
  // From the snapshot's row to the end (rows 40-50, not applied: row 40 is another message), then
  // the whole journal.
  EXPECT_EQ(RestoreAnew(&restored), 11 + 50);
  EXPECT_EQ(restored, LiveState());
}

TEST_F(SnapshotTest, NoSnapshotIsWrittenWhenNothingWasHandledSinceTheLast) {
  HandleSomeHistory(1, 2);
  EngineSnapshots snapshots(snapshot_path_, std::chrono::seconds(60));
  snapshots.MaybeWrite(live_->engine, *live_->journal, live_->clock.Now(), /*force=*/true);
  snapshots.Wait();
  ASSERT_TRUE(std::filesystem::exists(snapshot_path_));
  std::filesystem::remove(snapshot_path_);
  snapshots.MaybeWrite(live_->engine, *live_->journal, live_->clock.Now(), /*force=*/true);
  snapshots.Wait();
  EXPECT_FALSE(std::filesystem::exists(snapshot_path_)) << "no row handled since";
  HandleSomeHistory(10, 1);
  snapshots.MaybeWrite(live_->engine, *live_->journal, live_->clock.Now(), /*force=*/true);
  snapshots.Wait();
  EXPECT_TRUE(std::filesystem::exists(snapshot_path_));
}

}  // namespace
}  // namespace bw
