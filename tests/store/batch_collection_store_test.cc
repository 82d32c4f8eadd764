// Issue 14 on both backends (SQLite and PostgreSQL, tests/store/store_backends.h), through the
// journal that writes a committed batch (daemon/journal.h) and the Store interface:
// - one hash-chained `collection` record per committed batch and collector, naming the range of
//   inbound rows it collected, where there was once one per message (docs/security.md, "Audit
//   log"); the chain still verifies and an auditor still finds who collected what about a person;
// - the instrument's JSON as received, read back by version (Store::InstrumentRaw), and put by
//   the journal into the alerts that carry it (check_result), since the engine keeps none.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "daemon/journal.h"
#include "daemon/store.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/policy.h"
#include "handlers/instruments/instrument.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

const TimePoint kT0 = *ParseRfc3339("2026-03-01T10:00:00Z");

JournalItem Message(const std::string& channel, const std::string& msg_id,
                    const std::string& person, const std::string& result = "handled") {
  JournalItem item;
  InboundRecord& r = item.record;
  r.received_at = kT0;
  r.channel = channel;
  r.topic = channel;
  r.source = channel + "-provider";
  r.msg_id = msg_id;
  r.type = channel == "tag" ? "tag.position" : "custody.arrested";
  r.event_time = kT0;
  r.payload = R"({"id":")" + msg_id + R"(","person_id":")" + person + R"("})";
  r.result = result;
  r.person_id = person;
  if (result == "rejected") r.reason = "missing_field";
  return item;
}

std::string DumpRows(const std::vector<AuditRow>& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += std::to_string(r.id) + " " + r.category + " " + r.actor + " " + r.op + " [" + r.subjects +
         "] " + r.detail + "\n";
  }
  return s;
}

std::vector<AuditRow> OfCategory(const std::vector<AuditRow>& rows, const std::string& category) {
  std::vector<AuditRow> out;
  for (const auto& r : rows) {
    if (r.category == category) out.push_back(r);
  }
  return out;
}

class BatchCollection : public BackendTest {
 protected:
  Policy policy_;
};

// A batch of feed messages used to write one collection row each (a 250,000-event run wrote
// 254,825 audit rows); now one per feed for the whole batch, naming its rows.
TEST_P(BatchCollection, ABatchOfFeedEventsWritesOneCollectionRowPerFeedNamingItsRows) {
  StoreJournal journal(*store_, policy_);
  JournalEntry entry;
  entry.at = kT0;
  entry.items.push_back(Message("tag", "t1", "PNC-1"));       // row 1
  entry.items.push_back(Message("tag", "t2", "PNC-2"));       // row 2
  entry.items.push_back(Message("custody", "c1", "PNC-3"));   // row 3
  entry.items.push_back(Message("tag", "t3", "PNC-1"));       // row 4
  entry.items.push_back(Message("tag", "t4", "", "rejected"));  // row 5: a dead letter
  entry.items.push_back(Message("tag", "t5", "PNC-4"));       // row 6
  auto committed = journal.Commit(&entry);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  ASSERT_EQ(committed->inbound_rows, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));

  const auto collections = OfCategory(backend_->ReadAudit(), "collection");
  ASSERT_EQ(collections.size(), 2u) << DumpRows(collections);
  const AuditRow& tag = collections[0];
  EXPECT_EQ(tag.actor, "feed/tag");
  EXPECT_EQ(tag.op, "batch");
  EXPECT_EQ(tag.subjects, "PNC-1,PNC-2,PNC-4");
  EXPECT_EQ(tag.reason, "monitoring feed intake");
  EXPECT_EQ(tag.outcome, "handled,rejected");
  EXPECT_EQ(tag.detail,
            "inbound #1..6 channel tag: 5 messages, handled 4, rejected 1 (missing_field 1); "
            "tag.position 5");
  EXPECT_EQ(tag.at, "2026-03-01T10:00:00Z");
  const AuditRow& custody = collections[1];
  EXPECT_EQ(custody.actor, "feed/custody");
  EXPECT_EQ(custody.subjects, "PNC-3");
  EXPECT_EQ(custody.outcome, "handled");
  EXPECT_EQ(custody.detail,
            "inbound #3..3 channel custody: 1 message, handled 1, rejected 0; custody.arrested 1");

  auto report = backend_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << (report->problems.empty() ? "" : report->problems.front());
}

// "Who collected the record about this person, and when?": the chained row names the person
// among its subjects, and the inbound rows of its range on its channel are the messages.
TEST_P(BatchCollection, AnAuditorsQueryForAPersonStillFindsTheCollection) {
  StoreJournal journal(*store_, policy_);
  for (int batch = 0; batch < 3; ++batch) {
    JournalEntry entry;
    entry.at = kT0 + std::chrono::minutes(batch);
    for (int i = 0; i < 4; ++i) {
      const std::string person = batch == 1 && i == 2 ? "PNC-WANTED" : "PNC-" + std::to_string(i);
      entry.items.push_back(
          Message("tag", "b" + std::to_string(batch) + "-" + std::to_string(i), person));
      entry.items.back().record.received_at = entry.at;
    }
    ASSERT_TRUE(journal.Commit(&entry).ok());
  }
  std::vector<AuditRow> found;
  for (const auto& r : OfCategory(backend_->ReadAudit(), "collection")) {
    if (("," + r.subjects + ",").find(",PNC-WANTED,") != std::string::npos) found.push_back(r);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].actor, "feed/tag");
  EXPECT_EQ(found[0].at, "2026-03-01T10:01:00Z");
  ASSERT_EQ(found[0].detail.rfind("inbound #5..8 channel tag:", 0), 0u) << found[0].detail;
  // The messages themselves: the rows of the range on that channel that name the person.
  std::vector<int64_t> rows;
  ASSERT_TRUE(store_
                  ->ForEachHandled(4,
                                   [&](int64_t row, const std::string& channel,
                                       const std::string& payload) {
                                     if (row <= 8 && channel == "tag" &&
                                         payload.find("PNC-WANTED") != std::string::npos) {
                                       rows.push_back(row);
                                     }
                                   })
                  .ok());
  EXPECT_EQ(rows, std::vector<int64_t>{7});
}

// event.submit writes its own row (it has an identity); the daemon's tick rows are not collection.
TEST_P(BatchCollection, SubmittedAndTickRowsAreNotCountedInTheBatchRecord) {
  StoreJournal journal(*store_, policy_);
  JournalEntry entry;
  entry.at = kT0;
  JournalItem submitted = Message("control", "m1", "PNC-9");
  submitted.record.audited_by_caller = true;
  AuditRecord request;
  request.at = kT0;
  request.category = "collection";
  request.actor = "MP-PC5555";
  request.op = "event.submit";
  request.reason = "manual entry";
  submitted.request_audit = request;
  entry.items.push_back(submitted);
  JournalItem tick = Message("tick", "tick-1", "");
  entry.items.push_back(tick);
  ASSERT_TRUE(journal.Commit(&entry).ok());
  const auto collections = OfCategory(backend_->ReadAudit(), "collection");
  ASSERT_EQ(collections.size(), 1u) << DumpRows(collections);
  EXPECT_EQ(collections[0].actor, "MP-PC5555");
  EXPECT_EQ(collections[0].subjects, "PNC-9");
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchCollection, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

// --- Instrument bodies --------------------------------------------------------------------------

std::shared_ptr<const Instrument> Decoded(const std::string& id, const std::string& subject,
                                          uint32_t version) {
  auto ins = std::make_shared<Instrument>();
  ins->instrument_id = id;
  ins->subject = subject;
  ins->version = version;
  return ins;
}

InstrumentChange Change(InstrumentChange::Kind kind, const std::string& id, uint32_t version,
                        const std::string& body) {
  InstrumentChange c;
  c.kind = kind;
  c.instrument_id = id;
  c.effective = kT0 + std::chrono::hours(version);
  if (kind != InstrumentChange::Kind::kEnded) {
    c.instrument = Decoded(id, "PNC-80/222222B", version);
    c.instrument_raw = body;
  } else {
    c.end_reason = "revoked";
  }
  return c;
}

class InstrumentBodies : public BackendTest {
 protected:
  Policy policy_;
};

TEST_P(InstrumentBodies, EachVersionsJsonIsReadBackByVersion) {
  const std::string v1 = R"({"instrument_id":"BAIL-7","conditions":[{"condition_id":"c1"}]})";
  const std::string v2 = R"({"instrument_id":"BAIL-7","conditions":[{"condition_id":"c2"}]})";
  ASSERT_TRUE(store_
                  ->InsertInstrumentChange(Change(InstrumentChange::Kind::kGranted, "BAIL-7", 1, v1),
                                           "orders", "o1", kT0)
                  .ok());
  ASSERT_TRUE(store_
                  ->InsertInstrumentChange(Change(InstrumentChange::Kind::kVaried, "BAIL-7", 2, v2),
                                           "orders", "o2", kT0)
                  .ok());
  ASSERT_TRUE(store_
                  ->InsertInstrumentChange(Change(InstrumentChange::Kind::kEnded, "BAIL-7", 3, ""),
                                           "orders", "o3", kT0)
                  .ok());
  auto first = store_->InstrumentRaw("BAIL-7", 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->value_or("(none)"), v1);
  auto second = store_->InstrumentRaw("BAIL-7", 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->value_or("(none)"), v2);
  auto ended = store_->InstrumentRaw("BAIL-7", 3);  // an ending has no body
  ASSERT_TRUE(ended.ok());
  EXPECT_FALSE(ended->has_value());
  auto missing = store_->InstrumentRaw("BAIL-8", 1);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

// A check_result names the instruments in force by version; the journal puts their JSON in, as
// received, before the alert is stored and published — also for an instrument granted in the
// same batch, not yet committed when the check was decided.
TEST_P(InstrumentBodies, TheJournalPutsTheInstrumentsJsonIntoACheckResult) {
  const std::string body =
      R"({"instrument_id":"BAIL-7","subject":"PNC-80/222222B","conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":{"type":"Polygon","coordinates":[[[-0.1,51.5],[-0.09,51.5],[-0.09,51.51],[-0.1,51.5]]]}}]})";
  StoreJournal journal(*store_, policy_);
  JournalEntry entry;
  entry.at = kT0;
  JournalItem grant = Message("orders", "g1", "PNC-80/222222B");
  grant.changes.push_back(Change(InstrumentChange::Kind::kGranted, "BAIL-7", 1, body));
  entry.items.push_back(grant);
  JournalItem check = Message("checks", "k1", "PNC-80/222222B");
  Alert result;
  result.kind = AlertKind::kCheckResult;
  result.severity = Severity::kInfo;
  result.person_id = "PNC-80/222222B";
  result.extra["instruments"] = boost::json::array();
  result.extra["breached"] = boost::json::array();
  result.embed_instruments = {{"BAIL-7", 1}};
  check.alerts.push_back(result);
  entry.items.push_back(check);
  auto committed = journal.Commit(&entry);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  ASSERT_EQ(committed->alerts.size(), 1u);
  const auto published = boost::json::parse(committed->alerts[0].payload).as_object();
  const auto& instruments = published.at("instruments").as_array();
  ASSERT_EQ(instruments.size(), 1u);
  EXPECT_EQ(instruments[0], boost::json::parse(body));
  // Stored as published.
  auto stored = store_->GetAlert(committed->alerts[0].alert.alert_id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->payload, committed->alerts[0].payload);
}

INSTANTIATE_TEST_SUITE_P(Backends, InstrumentBodies, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace bw::testing
