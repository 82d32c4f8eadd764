// The store's audit log, through the Store interface, on both backends (SQLite and PostgreSQL,
// tests/store/store_backends.h): retention purges only old rows and keeps the chain verifiable;
// a rolled-back transaction leaves no audit row and the chain continues.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemon/audit_chain.h"
#include "daemon/store.h"
#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

constexpr char kSubject[] = "PNC-80/111111A";

std::string DumpRows(const std::vector<AuditRow>& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += std::to_string(r.id) + " " + r.category + " " + r.op + " " + r.at + " | " + r.detail + "\n";
  }
  return s;
}

class AuditStore : public BackendTest {
 protected:
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
};

TEST_P(AuditStore, PurgeErasesOnlyOldRowsAndTheChainStillVerifies) {
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
  // (Its collection record is the journal's, per batch: the store writes none.)
  ASSERT_TRUE(store_->InsertInbound(dead).ok());

  // Asked to erase everything older than a day: audit rows are kept for 365 days whatever.
  auto purged = store_->Purge(now, now - std::chrono::hours(24 * 30), now - std::chrono::hours(24));
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->dead_letters, 1);
  EXPECT_EQ(purged->audit_rows, 2);  // old-1, old-2

  auto rows = backend_->ReadAudit();
  ASSERT_EQ(rows.size(), 3u) << DumpRows(rows);
  EXPECT_EQ(rows[0].op, "young-1");
  EXPECT_EQ(rows.back().category, "erasure");
  EXPECT_NE(rows.back().detail.find("1 dead letter(s)"), std::string::npos) << rows.back().detail;
  auto report = backend_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->purged_through, 2);

  // The triggers refuse to delete a young row even for someone with the shell.
  EXPECT_FALSE(backend_->RawSql("DELETE FROM audit_log WHERE op='young-1'").ok());
  EXPECT_FALSE(backend_->RawSql("UPDATE audit_log SET op='edited' WHERE op='young-1'").ok());
  EXPECT_EQ(backend_->ReadAudit().size(), 3u);
}

TEST_P(AuditStore, RolledBackWorkLeavesNoAuditRowAndTheChainContinues) {
  Audit("2026-01-01T00:00:00Z", "first");
  ASSERT_TRUE(store_->Begin().ok());
  Audit("2026-01-01T00:00:01Z", "rolled-back");
  store_->Rollback();
  Audit("2026-01-01T00:00:02Z", "after");
  auto rows = backend_->ReadAudit();
  ASSERT_EQ(rows.size(), 2u) << DumpRows(rows);
  EXPECT_EQ(rows[1].op, "after");
  EXPECT_EQ(rows[1].id, 2);
  auto report = backend_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditStore, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace bw::testing
