// PostgreSQL group commit (daemon/pg_store.h): a batch's statements go to the server in one
// pipeline with its fencing check and COMMIT, so a batch costs a round trip or two however many
// rows it writes; a statement that fails fails the whole batch, named, leaving nothing; the audit
// chain stays whole across a failed batch.  Round trips are counted by the session
// (PgConn::round_trips), not timed.  And, on both backends, the listing of handled ids that
// spares the matcher a read per message.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "daemon/pg_conn.h"
#include "daemon/pg_store.h"
#include "daemon/store.h"
#include "handlers/alerts/alert.h"
#include "handlers/base/time_util.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

const TimePoint kT0 = *ParseRfc3339("2026-03-01T10:00:00Z");

InboundRecord Handled(const std::string& msg_id, int64_t seq) {
  InboundRecord r;
  r.received_at = kT0 + std::chrono::seconds(seq);
  r.channel = "tag";
  r.topic = "tag.position";
  r.source = "tag-feed";
  r.msg_id = msg_id;
  r.seq = seq;
  r.type = "tag.position";
  r.event_time = r.received_at;
  r.payload = "{\"n\":" + std::to_string(seq) + "}";
  r.result = "handled";
  r.person_id = "PNC-80/111111A";
  return r;
}

Alert MakeAlert(int64_t seq) {
  Alert a;
  a.seq = seq;
  a.alert_id = "01GROUP" + std::to_string(seq);
  a.raised_at = kT0 + std::chrono::seconds(seq);
  a.event_time = a.raised_at;
  a.kind = AlertKind::kExclusionZoneBreach;
  a.severity = Severity::kHigh;
  a.person_id = "PNC-80/111111A";
  a.instrument_id = "BAIL-1";
  a.recipients = {"officer/MP-PC5555/", "control/E09000023/"};
  a.summary = "breach " + std::to_string(seq);
  return a;
}

class PgGroupCommit : public PgDatabaseTest {
 protected:
  void SetUp() override {
    PgDatabaseTest::SetUp();
    if (NoDatabase()) return;
    auto s = PgStore::Open(db_->conninfo());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  Status SetTerm(int64_t term) {
    auto conn = PgConn::Connect(db_->conninfo());
    if (!conn.ok()) return conn.status();
    return (*conn)->Run("UPDATE leadership SET term = " + std::to_string(term), "set term");
  }
  // A batch as the journal writes one: `events` inbound rows, each with one alert.
  Status WriteBatch(int64_t first, int events) {
    if (Status s = store_->Begin(); !s.ok()) return s;
    for (int64_t i = first; i < first + events; ++i) {
      auto row = store_->InsertInbound(Handled("m" + std::to_string(i), i));
      if (!row.ok()) return row.status();
      if (Status s = store_->InsertAlert(MakeAlert(i), std::nullopt); !s.ok()) return s;
    }
    return store_->Commit();
  }
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgGroupCommit, ABatchOfManyRowsCommitsInAFewRoundTripsUnderAFencingTerm) {
  ASSERT_TRUE(SetTerm(7).ok());
  store_->SetFencingTerm(7);
  ASSERT_TRUE(WriteBatch(1, 10).ok());  // reads the audit head and reserves row ids
  const int64_t before = store_->conn().round_trips();
  // 200 events: 200 inbound rows, 200 alerts, 400 recipients, 400 audit rows (combination
  // and disclosure), the fencing check and the commit: one round trip (statement by statement
  // it was over 1,200).
  ASSERT_TRUE(WriteBatch(11, 200).ok());
  EXPECT_LE(store_->conn().round_trips() - before, 2);
  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 210);
  EXPECT_EQ(counts->alerts, 210);
  auto report = VerifyPostgresAuditLog(db_->conninfo());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->rows, counts->audit);
}

TEST_F(PgGroupCommit, AFailedStatementFailsTheWholeBatchNamedAndTheChainContinues) {
  ASSERT_TRUE(WriteBatch(1, 5).ok());
  auto before = store_->Counts();
  ASSERT_TRUE(before.ok());
  // A batch whose third alert reuses seq 2 (already stored): the server refuses that statement
  // when the batch is sent; every row of the batch is rolled back with it.
  ASSERT_TRUE(store_->Begin().ok());
  ASSERT_TRUE(store_->InsertInbound(Handled("x1", 100)).ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(6), std::nullopt).ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(2), std::nullopt).ok());  // queued: not checked yet
  ASSERT_TRUE(store_->InsertInbound(Handled("x2", 101)).ok());
  Status failed = store_->Commit();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("alert insert"), std::string::npos) << failed.ToString();
  EXPECT_NE(failed.message().find("duplicate key"), std::string::npos) << failed.ToString();
  auto after = store_->Counts();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->inbound_handled, before->inbound_handled);
  EXPECT_EQ(after->alerts, before->alerts);
  EXPECT_EQ(after->audit, before->audit);
  // The chain's head went back with the batch: the next batch links to the last stored row.
  ASSERT_TRUE(WriteBatch(6, 5).ok());
  auto report = VerifyPostgresAuditLog(db_->conninfo());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->problems.front();
  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 10);
  EXPECT_EQ(report->rows, counts->audit);
}

TEST_F(PgGroupCommit, AReadInsideABatchSeesItsQueuedRowsAndInboundRowIdsRiseInCommitOrder) {
  ASSERT_TRUE(store_->Begin().ok());
  auto first = store_->InsertInbound(Handled("r1", 1));
  ASSERT_TRUE(first.ok());
  // Read in the same transaction: the queued row is sent before the read.
  auto payload = store_->HandledPayload("tag-feed", "r1");
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  ASSERT_TRUE(payload->has_value());
  EXPECT_EQ(**payload, "{\"n\":1}");
  auto second = store_->InsertInbound(Handled("r2", 2));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(store_->Commit().ok());
  EXPECT_LT(*first, *second);
  // Replay from the first row's position gives the second.
  std::vector<int64_t> replayed;
  ASSERT_TRUE(store_
                  ->ForEachHandled(*first, [&](int64_t row, const std::string&,
                                               const std::string&) { replayed.push_back(row); })
                  .ok());
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0], *second);
}

}  // namespace
}  // namespace bw::testing

namespace bw::testing {
namespace {

// The matcher's deduplication memory is filled from the store's handled ids at start-up
// (daemon/recent_ids.h); a store that cannot list them makes every message cost a read (on
// PostgreSQL, a round trip per message: what bounded bw-load on PostgreSQL before).
class HandledKeys : public BackendTest {};

TEST_P(HandledKeys, EveryHandledIdIsListedOnceAndNoRejectedOne) {
  ASSERT_TRUE(store_->Begin().ok());
  for (int i = 1; i <= 120; ++i) {
    InboundRecord r = Handled("k" + std::to_string(i), i);
    r.source = i % 2 ? "tag-feed" : "orders-feed";
    ASSERT_TRUE(store_->InsertInbound(r).ok());
  }
  InboundRecord rejected = Handled("bad", 500);
  rejected.result = "rejected";
  rejected.reason = "invalid";
  ASSERT_TRUE(store_->InsertInbound(rejected).ok());
  ASSERT_TRUE(store_->Commit().ok());
  std::set<std::pair<std::string, std::string>> keys;
  int calls = 0;
  Status s = store_->ForEachHandledKey([&](const std::string& source, const std::string& id) {
    keys.emplace(source, id);
    ++calls;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 120);
  EXPECT_EQ(keys.size(), 120u);
  EXPECT_TRUE(keys.count({"tag-feed", "k1"}));
  EXPECT_TRUE(keys.count({"orders-feed", "k120"}));
  EXPECT_FALSE(keys.count({"tag-feed", "bad"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, HandledKeys, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace bw::testing
