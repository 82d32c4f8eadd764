// The Store contract on both backends (SQLite and PostgreSQL, tests/store/store_backends.h):
// inbound rows and their deduplication, replay from a row position, alerts and their lifecycle,
// a person's history, counts, rollback; and, on PostgreSQL, the fencing term that every commit
// checks (daemon/pg_store.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemon/pg_leadership.h"
#include "daemon/pg_store.h"
#include "daemon/store.h"
#include "handlers/alerts/alert.h"
#include "handlers/base/time_util.h"
#include "handlers/instruments/instrument.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

const TimePoint kT0 = *ParseRfc3339("2026-03-01T10:00:00Z");

InboundRecord Handled(const std::string& msg_id, int64_t seq, const std::string& payload) {
  InboundRecord r;
  r.received_at = kT0 + std::chrono::seconds(seq);
  r.channel = "tag";
  r.topic = "tag.position";
  r.source = "tag-feed";
  r.msg_id = msg_id;
  r.seq = seq;
  r.type = "tag.position";
  r.event_time = r.received_at;
  r.payload = payload;
  r.result = "handled";
  r.person_id = "PNC-80/111111A";
  return r;
}

Alert MakeAlert(int64_t seq, Severity severity) {
  Alert a;
  a.seq = seq;
  a.alert_id = "01ALERT" + std::to_string(seq);
  a.raised_at = kT0 + std::chrono::seconds(seq);
  a.event_time = a.raised_at;
  a.kind = AlertKind::kExclusionZoneBreach;
  a.severity = severity;
  a.person_id = "PNC-80/111111A";
  a.instrument_id = "BAIL-1";
  a.recipients = {"officer/MP-PC5555/", "control/E09000023/"};
  a.summary = "breach " + std::to_string(seq);
  return a;
}

class StoreContract : public BackendTest {};

TEST_P(StoreContract, InboundRowsAreStoredVerbatimDeduplicatedAndReplayedFromAPosition) {
  // Bytes that are not text (a NUL, an invalid UTF-8 sequence) come back as they went in.
  const std::string odd_bytes = std::string("{\"a\":\"\0\xff\xfe\"}", 12);
  auto r1 = store_->InsertInbound(Handled("m1", 1, "{\"n\":1}"));
  auto r2 = store_->InsertInbound(Handled("m2", 2, odd_bytes));
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_LT(*r1, *r2);
  // The same (source, msg_id) handled twice is refused by the store.
  EXPECT_FALSE(store_->InsertInbound(Handled("m1", 3, "{\"n\":1}")).ok());
  // A dead letter with a topic that is not UTF-8 is kept (its payload verbatim).
  InboundRecord dead = Handled("", 0, std::string("\x80garbage\0", 9));
  dead.source.clear();
  dead.topic = "tag\xc3";
  dead.result = "rejected";
  dead.reason = "bad_json";
  auto r3 = store_->InsertInbound(dead);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();

  auto dup = store_->HandledPayload("tag-feed", "m2");
  ASSERT_TRUE(dup.ok());
  ASSERT_TRUE(dup->has_value());
  EXPECT_EQ(**dup, odd_bytes);
  auto none = store_->HandledPayload("tag-feed", "m9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  std::vector<std::pair<int64_t, std::string>> seen;
  auto collect = [&](int64_t row, const std::string& channel, const std::string& payload) {
    EXPECT_EQ(channel, "tag");
    seen.emplace_back(row, payload);
  };
  ASSERT_TRUE(store_->ForEachHandled(0, collect).ok());
  ASSERT_EQ(seen.size(), 2u);  // the dead letter is not replayed
  EXPECT_EQ(seen[0].second, "{\"n\":1}");
  EXPECT_EQ(seen[1].second, odd_bytes);
  seen.clear();
  ASSERT_TRUE(store_->ForEachHandled(*r1, collect).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, *r2);

  auto seqs = store_->LastSeqs();
  ASSERT_TRUE(seqs.ok());
  ASSERT_EQ(seqs->size(), 1u);
  EXPECT_EQ(std::get<2>((*seqs)[0]), 2);

  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 2);
  EXPECT_EQ(counts->inbound_rejected, 1);
  // The store writes no collection row per message: the journal writes one per committed batch
  // (tests/store/batch_collection_store_test.cc).
  EXPECT_EQ(counts->audit, 0);
}

TEST_P(StoreContract, AlertLifecycleEscalationAndQueries) {
  ASSERT_TRUE(store_->Begin().ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(1, Severity::kHigh), kT0 + std::chrono::minutes(5)).ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(2, Severity::kInfo), std::nullopt).ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(3, Severity::kCritical), kT0 + std::chrono::minutes(1))
                  .ok());
  ASSERT_TRUE(store_->Commit().ok());

  auto max = store_->MaxAlertSeq();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 3);
  auto since = store_->AlertsSince(1, 10);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_NE((*since)[0].find("\"seq\":2"), std::string::npos) << (*since)[0];

  auto next = store_->NextEscalationDeadline();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, kT0 + std::chrono::minutes(1));
  auto due = store_->DueEscalations(kT0 + std::chrono::minutes(10));
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].seq, 3);  // earliest deadline first

  ASSERT_TRUE(store_->SetEscalation("01ALERT3", 1, kT0 + std::chrono::minutes(20)).ok());
  ASSERT_TRUE(store_->AckAlert("01ALERT1", "MP-PC5555", kT0 + std::chrono::minutes(2)).ok());
  ASSERT_TRUE(store_->ResolveAlert("01ALERT3", "MP-PC6666", kT0 + std::chrono::minutes(3),
                                   "attended", "spoke to subject")
                  .ok());
  auto a1 = store_->GetAlert("01ALERT1");
  ASSERT_TRUE(a1.ok());
  ASSERT_TRUE(a1->has_value());
  EXPECT_EQ((*a1)->acked_by, "MP-PC5555");
  EXPECT_FALSE((*a1)->next_escalation_at.has_value());
  auto a3 = store_->GetAlert("01ALERT3");
  ASSERT_TRUE(a3.ok() && a3->has_value());
  EXPECT_EQ((*a3)->escalation_level, 1);
  EXPECT_EQ((*a3)->outcome, "attended");
  EXPECT_EQ((*a3)->note, "spoke to subject");
  EXPECT_EQ((*a3)->acked_by, "MP-PC6666");  // resolving acknowledges
  auto missing = store_->GetAlert("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto open = store_->OpenAlerts("", 0, std::nullopt, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);  // 1 (high, unresolved); 2 is info; 3 is resolved
  EXPECT_EQ((*open)[0].seq, 1);
  auto for_officer = store_->OpenAlerts("officer/MP-PC5555/", 0, std::nullopt, 10);
  ASSERT_TRUE(for_officer.ok());
  EXPECT_EQ(for_officer->size(), 1u);
  auto for_other = store_->OpenAlerts("officer/nobody/", 0, std::nullopt, 10);
  ASSERT_TRUE(for_other.ok());
  EXPECT_TRUE(for_other->empty());
  // Paged: after its seq, none; raised later than the cut-off, none; a limit of 0, none.
  auto after = store_->OpenAlerts("", 1, std::nullopt, 10);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto raised_by = store_->OpenAlerts("", 0, (*open)[0].raised_at - std::chrono::seconds(1), 10);
  ASSERT_TRUE(raised_by.ok());
  EXPECT_TRUE(raised_by->empty());
  auto at_cut_off = store_->OpenAlerts("officer/MP-PC5555/", 0, (*open)[0].raised_at, 10);
  ASSERT_TRUE(at_cut_off.ok());
  EXPECT_EQ(at_cut_off->size(), 1u);
  auto empty_page = store_->OpenAlerts("", 0, std::nullopt, 0);
  ASSERT_TRUE(empty_page.ok());
  EXPECT_TRUE(empty_page->empty());

  std::vector<std::string> outcomes;
  ASSERT_TRUE(store_
                  ->ForEachResolvedAlert([&](const std::string&, const std::string& outcome) {
                    outcomes.push_back(outcome);
                  })
                  .ok());
  EXPECT_EQ(outcomes, std::vector<std::string>{"attended"});
  auto count = store_->CountAlerts("PNC-80/111111A", {"exclusion_zone_breach", "curfew_breach"});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
  auto none = store_->CountAlerts("PNC-80/111111A", {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);

  auto history = store_->PersonHistory("PNC-80/111111A");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].what, "alert exclusion_zone_breach");
}

TEST_P(StoreContract, InstrumentVersionsAndHistory) {
  auto instrument = std::make_shared<Instrument>();
  instrument->instrument_id = "BAIL-7";
  instrument->subject = "PNC-80/222222B";
  instrument->version = 1;
  InstrumentChange granted;
  granted.kind = InstrumentChange::Kind::kGranted;
  granted.instrument_id = "BAIL-7";
  granted.effective = kT0;
  granted.instrument = instrument;
  granted.instrument_raw = R"({"instrument_id":"BAIL-7"})";
  InstrumentChange ended;
  ended.kind = InstrumentChange::Kind::kEnded;
  ended.instrument_id = "BAIL-7";
  ended.effective = kT0 + std::chrono::hours(1);
  ended.end_reason = "revoked";
  ASSERT_TRUE(store_->InsertInstrumentChange(granted, "orders", "o1", kT0).ok());
  ASSERT_TRUE(
      store_->InsertInstrumentChange(ended, "orders", "o2", kT0 + std::chrono::hours(1)).ok());
  auto history = store_->PersonHistory("PNC-80/222222B");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].what, "instrument granted");
  EXPECT_EQ((*history)[1].what, "instrument ended");
  EXPECT_NE((*history)[1].detail.find("\"version\":2"), std::string::npos) << (*history)[1].detail;
  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->instruments, 1);
  // The ended change wrote an alteration row naming the subject from the granted version.
  auto rows = backend_->ReadAudit();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().category, "alteration");
  EXPECT_EQ(rows.back().subjects, "PNC-80/222222B");
}

// An audit row of the caller's (the store writes none with an inbound row: the journal writes the
// batch's collection record).
AuditRecord CallersRow(const std::string& op) {
  AuditRecord a;
  a.at = kT0;
  a.category = "collection";
  a.actor = "test";
  a.op = op;
  a.reason = "test";
  a.outcome = "ok";
  return a;
}

TEST_P(StoreContract, RolledBackTransactionLeavesNothingAndTheStoreReopensWithItsData) {
  ASSERT_TRUE(store_->InsertInbound(Handled("kept", 1, "{}")).ok());
  ASSERT_TRUE(store_->InsertAudit(CallersRow("kept")).ok());
  ASSERT_TRUE(store_->Begin().ok());
  ASSERT_TRUE(store_->InsertInbound(Handled("gone", 2, "{}")).ok());
  ASSERT_TRUE(store_->InsertAlert(MakeAlert(1, Severity::kHigh), std::nullopt).ok());
  store_->Rollback();
  store_.reset();
  auto reopened = backend_->Open();  // migrations are idempotent
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto counts = (*reopened)->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 1);
  EXPECT_EQ(counts->alerts, 0);
  auto gone = (*reopened)->HandledPayload("tag-feed", "gone");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  // The audit chain continues after the reopen.
  ASSERT_TRUE((*reopened)->InsertInbound(Handled("after", 3, "{}")).ok());
  ASSERT_TRUE((*reopened)->InsertAudit(CallersRow("after")).ok());
  auto report = backend_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->rows, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// PostgreSQL only: the fencing term.

class PgFencing : public PgDatabaseTest {
 protected:
  std::unique_ptr<PgStore> Open() {
    auto s = PgStore::Open(db_->conninfo());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  Status SetTerm(int64_t term) {
    auto conn = PgConn::Connect(db_->conninfo());
    if (!conn.ok()) return conn.status();
    return (*conn)->Run("UPDATE leadership SET term = " + std::to_string(term), "set term");
  }
};

TEST_F(PgFencing, ACommitUnderASupersededTermIsRefusedAndLeavesNothing) {
  auto old_active = Open();
  auto new_active = Open();
  ASSERT_TRUE(old_active && new_active);
  ASSERT_TRUE(SetTerm(1).ok());
  old_active->SetFencingTerm(1);
  ASSERT_TRUE(old_active->InsertInbound(Handled("before", 1, "{}")).ok());
  ASSERT_TRUE(old_active->InsertAudit(CallersRow("before")).ok());

  // The old active is in the middle of a batch when another daemon takes over (term 2).
  ASSERT_TRUE(old_active->Begin().ok());
  ASSERT_TRUE(old_active->InsertInbound(Handled("during", 2, "{}")).ok());
  ASSERT_TRUE(old_active->InsertAudit(CallersRow("during")).ok());
  ASSERT_TRUE(SetTerm(2).ok());
  new_active->SetFencingTerm(2);
  Status refused = old_active->Commit();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("fenced"), std::string::npos) << refused.ToString();
  // ...and every later write of the old active, in a transaction or not.
  EXPECT_FALSE(old_active->InsertInbound(Handled("later", 3, "{}")).ok());

  // The new active writes, and the audit chain stays whole across the two writers.
  ASSERT_TRUE(new_active->InsertInbound(Handled("new", 4, "{}")).ok());
  ASSERT_TRUE(new_active->InsertAudit(CallersRow("new")).ok());
  auto counts = new_active->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 2);  // before, new
  auto report = VerifyPostgresAuditLog(db_->conninfo());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->rows, 2);  // before, new: the refused batch's row is not kept
}

TEST_F(PgFencing, AnUnfencedStoreAndAMatchingTermCommit) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InsertInbound(Handled("a", 1, "{}")).ok());  // term 0: no check
  ASSERT_TRUE(SetTerm(5).ok());
  store->SetFencingTerm(5);
  ASSERT_TRUE(store->InsertInbound(Handled("b", 2, "{}")).ok());
  store->SetFencingTerm(4);
  EXPECT_FALSE(store->InsertInbound(Handled("c", 3, "{}")).ok());
}

TEST_F(PgFencing, ALostSessionIsReconnectedAtTheNextTransaction) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InsertInbound(Handled("a", 1, "{}")).ok());
  auto admin = PgConn::Connect(db_->conninfo());
  ASSERT_TRUE(admin.ok());
  auto killed = (*admin)->Exec("SELECT pg_terminate_backend($1)",
                               {PgInt(store->conn().backend_pid())}, "terminate");
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  // The first use after the loss fails (the server closed the session); the next reconnects.
  Status first = store->InsertInbound(Handled("b", 2, "{}")).status();
  if (!first.ok()) {
    ASSERT_TRUE(store->InsertInbound(Handled("b", 2, "{}")).ok());
  }
  auto counts = store->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 2);
  auto report = VerifyPostgresAuditLog(db_->conninfo());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
}

TEST_F(PgFencing, AFencedStoreThatLosesItsSessionWritesNothingUntilANewTerm) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(SetTerm(3).ok());
  store->SetFencingTerm(3);
  ASSERT_TRUE(store->InsertInbound(Handled("a", 1, "{}")).ok());
  auto admin = PgConn::Connect(db_->conninfo());
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->Exec("SELECT pg_terminate_backend($1)", {PgInt(store->conn().backend_pid())},
                         "terminate")
                  .ok());
  // The term is unchanged (nobody took over yet), but the session and its lock are gone.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Status s = store->InsertInbound(Handled("b", 2, "{}")).status();
    EXPECT_FALSE(s.ok()) << "attempt " << attempt;
  }
  auto counts = store->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 1);
}

TEST_F(PgFencing, AStandbyTakesOverWhenTheActiveSessionIsTerminatedAndTheOldActiveIsFenced) {
  auto store_a = Open();
  auto store_b = Open();
  ASSERT_TRUE(store_a && store_b);
  PgLeadership a(*store_a, "node-a");
  PgLeadership b(*store_b, "node-b");
  auto got_a = a.TryAcquire();
  ASSERT_TRUE(got_a.ok()) << got_a.status().ToString();
  EXPECT_TRUE(*got_a);
  auto got_b = b.TryAcquire();
  ASSERT_TRUE(got_b.ok());
  EXPECT_FALSE(*got_b);  // a holds the lock
  EXPECT_FALSE(b.active());
  auto view = b.Current();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->holder, "node-a");
  EXPECT_EQ(view->term, a.term());
  ASSERT_TRUE(store_a->InsertInbound(Handled("from-a", 1, "{}")).ok());

  auto admin = PgConn::Connect(db_->conninfo());
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->Exec("SELECT pg_terminate_backend($1)",
                         {PgInt(store_a->conn().backend_pid())}, "terminate")
                  .ok());
  // The server releases the lock when the session ends (asynchronously): poll as a standby does.
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    auto r = b.TryAcquire();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    taken = *r;
    if (!taken) usleep(50'000);
  }
  ASSERT_TRUE(taken);
  EXPECT_EQ(b.term(), a.term() + 1);
  auto still = a.StillActive();
  EXPECT_TRUE(!still.ok() || !*still);
  EXPECT_FALSE(a.active());
  EXPECT_FALSE(store_a->InsertInbound(Handled("late-from-a", 2, "{}")).ok());
  // a cannot take the lock back while b holds it.
  auto again = a.TryAcquire();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
  EXPECT_FALSE(store_a->InsertInbound(Handled("late-from-a", 2, "{}")).ok());
  ASSERT_TRUE(store_b->InsertInbound(Handled("from-b", 3, "{}")).ok());
  auto counts = store_b->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inbound_handled, 2);
  auto report = VerifyPostgresAuditLog(db_->conninfo());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
}

}  // namespace
}  // namespace bw::testing
