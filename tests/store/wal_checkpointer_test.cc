// WalCheckpointer (daemon/sqlite_checkpointer.h) against a steady stream of commits: the WAL file
// must stop growing.  A real SQLite database in a temporary directory; no daemon.
#include "daemon/sqlite_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace bw {
namespace {

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bw-wal-ckpt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/store.db";
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    // The store's settings, but no fsync per commit: the test needs the WAL's growth, not
    // durability, and a writer faster than the checkpoints.
    ASSERT_EQ(sqlite3_exec(db_,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; "
                           "PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout=5000; "
                           "CREATE TABLE rows (body BLOB NOT NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  void TearDown() override {
    sqlite3_close(db_);
    std::filesystem::remove_all(dir_);
  }
  std::string dir_, path_;
  sqlite3* db_ = nullptr;
};

// Regression (issue 14's tail profile): the RESTART checkpoint ran only when a pass had left
// frames uncopied, but under a steady stream of commits every pass copies all it saw while a
// commit lands during it, so the writer never began a transaction with the WAL fully copied and
// never started it again from its beginning: the WAL grew without end (379 MB to 690 MB in a
// 20 s bw-load run), and each commit's fdatasync then had the WAL's inode to write as well.
TEST_F(WalCheckpointerTest, ASteadyStreamOfCommitsDoesNotGrowTheWalWithoutEnd) {
  constexpr int64_t kRestartPages = 64;
  auto checkpointer = WalCheckpointer::Start(path_, std::chrono::milliseconds(1), kRestartPages);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO rows (body) VALUES (zeroblob(7000))", -1, &insert,
                               nullptr),
            SQLITE_OK);
  constexpr int kTransactions = 4000;  // each appends about two pages of 4 KiB: 32 MiB in all
  for (int i = 0; i < kTransactions; ++i) {
    ASSERT_EQ(sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
    ASSERT_EQ(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    // The daemon's committer leaves the write lock between groups (while it hands the group's
    // completion over and takes the next); a RESTART waiting for the lock gets in there.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  sqlite3_finalize(insert);
  const auto wal_bytes = std::filesystem::file_size(path_ + "-wal");
  // Bounded by the restart threshold plus what is committed during one pass, far below the
  // 32 MiB the writer appended.
  EXPECT_LT(wal_bytes, 8u << 20) << "the WAL grew with every commit";
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT count(*) FROM rows", -1, &count, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(count, 0), kTransactions);
  sqlite3_finalize(count);
}

}  // namespace
}  // namespace bw
