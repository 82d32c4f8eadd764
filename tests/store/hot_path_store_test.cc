// The SQLite store's hot path (issue 14): an inbound row goes only into the indexes a query reads,
// and what those queries return is unchanged — a person's custody history, the dead letters that
// retention purges, the handled ids the matcher's deduplication memory is filled with.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "daemon/store.h"
#include "handlers/base/time_util.h"
#include "tests/scratch_dir.h"

namespace bw::testing {
namespace {

class HotPathStore : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("store.db");
    auto s = OpenSqliteStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void Insert(const std::string& type, const std::string& id, const std::string& person,
              const std::string& result) {
    InboundRecord r;
    r.received_at = *ParseRfc3339("2020-02-01T00:00:00Z");
    r.event_time = r.received_at;
    r.channel = type.rfind("custody.", 0) == 0 ? "custody" : "tag";
    r.topic = r.channel;
    r.source = "src";
    r.msg_id = id;
    r.type = type;
    r.person_id = person;
    r.payload = R"({"id":")" + id + R"("})";
    r.result = result;
    if (result == "rejected") r.reason = "invalid";
    ASSERT_TRUE(store_->InsertInbound(r).ok());
  }

  // The names of the indexes of table `table`, read from the file by a connection of its own.
  std::set<std::string> Indexes(const std::string& table) {
    std::set<std::string> out;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                 "tbl_name = ?1 AND name NOT LIKE 'sqlite_autoindex%'",
                                 -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, table.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    return out;
  }

  test::ScratchDir dir_{"bw-hotpath"};
  std::string path_;
  std::unique_ptr<Store> store_;
};

// Regression (issue 14): every inbound row went into three indexes, two keyed in random order,
// although only dead letters and custody events are ever looked up through them.
TEST_F(HotPathStore, AnInboundRowGoesOnlyIntoTheIndexesAQueryReads) {
  EXPECT_EQ(Indexes("inbound"), (std::set<std::string>{"inbound_handled_once",
                                                       "inbound_dead_letters", "inbound_custody"}));
}

TEST_F(HotPathStore, APersonsHistoryStillListsCustodyEventsOnly) {
  ASSERT_TRUE(store_->Begin().ok());
  Insert("custody.arrested", "c-1", "PNC-1", "handled");
  Insert("tag.position", "t-1", "PNC-1", "handled");
  Insert("custody.released", "c-2", "PNC-1", "handled");
  Insert("custody.arrested", "c-3", "PNC-2", "handled");
  Insert("custody.arrested", "c-4", "PNC-1", "rejected");
  ASSERT_TRUE(store_->Commit().ok());
  auto history = store_->PersonHistory("PNC-1");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].what, "arrest");
  EXPECT_EQ((*history)[1].what, "release");
}

TEST_F(HotPathStore, DeadLettersAreStillCountedAndPurgedAndHandledIdsListed) {
  ASSERT_TRUE(store_->Begin().ok());
  Insert("tag.position", "t-1", "PNC-1", "handled");
  Insert("tag.position", "t-2", "PNC-1", "rejected");
  Insert("tag.position", "t-3", "", "handled");
  ASSERT_TRUE(store_->Commit().ok());
  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 2);
  EXPECT_EQ(counts->inbound_rejected, 1);
  std::set<std::string> ids;
  ASSERT_TRUE(store_->ForEachHandledKey([&](const std::string& source, const std::string& id) {
                      ids.insert(source + "/" + id);
                    }).ok());
  EXPECT_EQ(ids, (std::set<std::string>{"src/t-1", "src/t-3"}));
  const TimePoint now = *ParseRfc3339("2026-01-01T00:00:00Z");
  auto purged = store_->Purge(now, now, now - std::chrono::hours(24 * 400));
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->dead_letters, 1);
}

// Regression (issue 14): the checkpointer's connection had never read the database, so it did
// not know the store was in WAL mode and every one of its checkpoints returned at once with
// nothing copied: after a million grants the WAL held 2.5 GB and the database file one page.
// The checkpointer runs every 200 ms on its own thread; this waits (up to a minute, no timing
// asserted) for the committed rows to reach the database file.
TEST_F(HotPathStore, TheCheckpointerCopiesCommittedRowsIntoTheDatabaseFile) {
  const auto file_bytes = [&] { return std::filesystem::file_size(path_); };
  const auto empty_bytes = file_bytes();
  for (int batch = 0; batch < 20; ++batch) {
    ASSERT_TRUE(store_->Begin().ok());
    for (int i = 0; i < 50; ++i) {
      Insert("tag.position", "fix-" + std::to_string(batch) + "-" + std::to_string(i), "P1",
             "handled");
    }
    ASSERT_TRUE(store_->Commit().ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (file_bytes() <= empty_bytes && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(file_bytes(), empty_bytes)
      << "nothing was checkpointed: the database file is still " << empty_bytes << " bytes";
}

}  // namespace
}  // namespace bw::testing
