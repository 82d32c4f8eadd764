// The SQLite store's audit log, through the Store interface: retention purges
// only old rows and keeps the chain verifiable; a rolled-back transaction
// leaves no audit row and the chain continues.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/audit_chain.h"
#include "daemon/store.h"
#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"

namespace bw::testing {
namespace {

constexpr char kSubject[] = "PNC-80/111111A";

// Runs a shell command; its exit status and output.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

// Every audit row of the store at `path`, oldest first (read-only; the daemon may be running).
std::vector<AuditRow> ReadAudit(const std::string& path) {
  std::vector<AuditRow> rows;
  Status s = ForEachAuditRow(path, [&](const AuditRow& r) {
    rows.push_back(r);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return rows;
}

std::string DumpRows(const std::vector<AuditRow>& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += std::to_string(r.id) + " " + r.category + " " + r.op + " " + r.at + " | " + r.detail + "\n";
  }
  return s;
}

class AuditStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bw-audit-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.db").string();
    auto s = OpenSqliteStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Audit(const std::string& at, const std::string& op) {
    AuditRecord r;
    r.at = *ParseRfc3339(at);
    r.actor = "MP-PC5555";
    r.op = op;
    r.subjects = kSubject;
    r.reason = "test";
    r.outcome = "ok";
    ASSERT_TRUE(store_->InsertAudit(r).ok());
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditStore, PurgeErasesOnlyOldRowsAndTheChainStillVerifies) {
  Audit("2020-01-01T00:00:00Z", "old-1");
  Audit("2020-06-01T00:00:00Z", "old-2");
  const TimePoint now = SystemClock().Now();
  Audit(FormatRfc3339(now - std::chrono::hours(24 * 100)), "young-1");
  Audit(FormatRfc3339(now), "young-2");
  InboundRecord dead;
  dead.received_at = *ParseRfc3339("2020-02-01T00:00:00Z");
  dead.channel = "tag";
  dead.topic = "tag";
  dead.payload = "{not json";
  dead.result = "rejected";
  dead.reason = "bad_json";
  ASSERT_TRUE(store_->InsertInbound(dead).ok());  // and its collection row (2020, purged too)

  // Asked to erase everything older than a day: audit rows are kept for 365 days whatever.
  auto purged = store_->Purge(now, now - std::chrono::hours(24 * 30), now - std::chrono::hours(24));
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->dead_letters, 1);
  EXPECT_EQ(purged->audit_rows, 2);  // old-1, old-2 (the dead letter's row is after young-2)

  auto rows = ReadAudit(path_);
  ASSERT_EQ(rows.size(), 4u) << DumpRows(rows);
  EXPECT_EQ(rows[0].op, "young-1");
  EXPECT_EQ(rows.back().category, "erasure");
  EXPECT_NE(rows.back().detail.find("1 dead letter(s)"), std::string::npos) << rows.back().detail;
  auto report = VerifyAuditLog(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->purged_through, 2);

  // The triggers refuse to delete a young row even for someone with the shell.
  auto [rc, out] = Shell("sqlite3 " + path_ + " \"DELETE FROM audit_log WHERE op='young-1'\"");
  EXPECT_NE(rc, 0) << out;
}

TEST_F(AuditStore, RolledBackWorkLeavesNoAuditRowAndTheChainContinues) {
  Audit("2026-01-01T00:00:00Z", "first");
  ASSERT_TRUE(store_->Begin().ok());
  Audit("2026-01-01T00:00:01Z", "rolled-back");
  store_->Rollback();
  Audit("2026-01-01T00:00:02Z", "after");
  auto rows = ReadAudit(path_);
  ASSERT_EQ(rows.size(), 2u) << DumpRows(rows);
  EXPECT_EQ(rows[1].op, "after");
  EXPECT_EQ(rows[1].id, 2);
  auto report = VerifyAuditLog(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace bw::testing
