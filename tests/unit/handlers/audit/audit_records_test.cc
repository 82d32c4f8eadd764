// The wording of the daemon's own audit rows (handlers/audit/audit_records.h):
// each field of each row kind, as the store writes it.  These strings are what
// a regulator reads in the hash-chained log, so a change here is deliberate.
#include "handlers/audit/audit_records.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "handlers/instruments/instrument.h"
#include "handlers/base/time_util.h"

namespace bw::testing {
namespace {

TimePoint At(const char* text) { return *ParseRfc3339(text); }

CollectedMessage FeedMessage() {
  return {.row = 42,
          .received_at = At("2026-03-01T10:00:00.250Z"),
          .channel = "tag",
          .type = "tag.position",
          .source = "tagco",
          .msg_id = "m-7",
          .person_id = "PNC-80/111111A",
          .result = "handled"};
}

// One record per committed batch and collector (docs/security.md, "Audit log").
TEST(CollectionBatch, OneFeedMessageIsCollectedByItsFeed) {
  CollectionBatch batch;
  batch.Add(FeedMessage());
  const std::vector<AuditRecord> records = batch.Records();
  ASSERT_EQ(records.size(), 1u);
  const AuditRecord& a = records[0];
  EXPECT_EQ(FormatRfc3339(a.at), "2026-03-01T10:00:00.250Z");
  EXPECT_EQ(a.category, "collection");
  EXPECT_EQ(a.actor, "feed/tag");
  EXPECT_EQ(a.op, "batch");
  EXPECT_EQ(a.subjects, "PNC-80/111111A");
  EXPECT_EQ(a.reason, "monitoring feed intake");
  EXPECT_EQ(a.outcome, "handled");
  EXPECT_EQ(a.detail, "inbound #42..42 channel tag: 1 message, handled 1, rejected 0; tag.position 1");
  EXPECT_EQ(a.recipients, "");
}

TEST(CollectionBatch, ABatchNamesItsRowRangeDistinctSubjectsAndCountsByResultAndType) {
  CollectionBatch batch;
  CollectedMessage m = FeedMessage();
  batch.Add(m);
  m.row = 43;
  m.person_id = "PNC-80/222222B";
  batch.Add(m);
  m.row = 45;  // row 44 belongs to another feed's message, collected in its own record
  m.person_id = "PNC-80/111111A";
  m.type = "tag.battery";
  batch.Add(m);
  m.row = 46;
  m.type = "";
  m.person_id = "";
  m.result = "rejected";
  m.reason = "bad_json";
  batch.Add(m);
  const std::vector<AuditRecord> records = batch.Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].subjects, "PNC-80/111111A,PNC-80/222222B");
  EXPECT_EQ(records[0].outcome, "handled,rejected");
  EXPECT_EQ(records[0].detail,
            "inbound #42..46 channel tag: 4 messages, handled 3, rejected 1 (bad_json 1); "
            "tag.position 2, tag.battery 1, inbound 1");
}

TEST(CollectionBatch, OneRecordPerFeedAndCollectorInTheOrderFirstSeen) {
  CollectionBatch batch;
  CollectedMessage m = FeedMessage();
  batch.Add(m);
  CollectedMessage custody = FeedMessage();
  custody.row = 43;
  custody.channel = "custody";
  custody.type = "custody.arrested";
  batch.Add(custody);
  CollectedMessage by_hand = FeedMessage();
  by_hand.row = 44;
  by_hand.collected_by = "MP-PC5555";
  by_hand.collected_reason = "manual entry";
  batch.Add(by_hand);
  const std::vector<AuditRecord> records = batch.Records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].actor, "feed/tag");
  EXPECT_EQ(records[1].actor, "feed/custody");
  EXPECT_EQ(records[2].actor, "MP-PC5555");
  EXPECT_EQ(records[2].reason, "manual entry");
}

TEST(CollectionBatch, AllRejectedReadsRejected) {
  CollectionBatch batch;
  CollectedMessage m = FeedMessage();
  m.result = "rejected";
  m.reason = "missing_field";
  batch.Add(m);
  ASSERT_EQ(batch.Records().size(), 1u);
  EXPECT_EQ(batch.Records()[0].outcome, "rejected");
}

TEST(CollectionBatch, NoRecordForTicksOrForACallerThatWritesItsOwn) {
  CollectionBatch batch;
  CollectedMessage tick = FeedMessage();
  tick.channel = "tick";
  batch.Add(tick);
  CollectedMessage submitted = FeedMessage();
  submitted.channel = "control";
  submitted.audited_by_caller = true;
  batch.Add(submitted);
  EXPECT_TRUE(batch.Records().empty());
}

InstrumentChange Change(InstrumentChange::Kind kind) {
  InstrumentChange c;
  c.kind = kind;
  c.instrument_id = "BAIL-1";
  c.effective = At("2026-03-01T09:00:00Z");
  return c;
}

TEST(AlterationAudit, OnlyVariedAndEndedOrdersAreAlterations) {
  EXPECT_FALSE(IsAuditedAlteration(Change(InstrumentChange::Kind::kGranted)));
  EXPECT_TRUE(IsAuditedAlteration(Change(InstrumentChange::Kind::kVaried)));
  EXPECT_TRUE(IsAuditedAlteration(Change(InstrumentChange::Kind::kEnded)));
}

TEST(AlterationAudit, VariedOrder) {
  const AuditRecord a = AlterationAudit(Change(InstrumentChange::Kind::kVaried), "PNC-80/111111A",
                                        "court", "o-9", At("2026-03-01T09:00:01Z"));
  EXPECT_EQ(FormatRfc3339(a.at), "2026-03-01T09:00:01Z");
  EXPECT_EQ(a.category, "alteration");
  EXPECT_EQ(a.actor, "court");
  EXPECT_EQ(a.op, "instrument.varied");
  EXPECT_EQ(a.subjects, "PNC-80/111111A");
  EXPECT_EQ(a.reason, "order varied by its issuer");
  EXPECT_EQ(a.outcome, "ok");
  EXPECT_EQ(a.detail, "BAIL-1 from 2026-03-01T09:00:00Z (caused by court/o-9)");
}

TEST(AlterationAudit, EndedOrderWithoutACausingSourceIsTheDaemonsOwn) {
  InstrumentChange c = Change(InstrumentChange::Kind::kEnded);
  c.end_reason = "expired";
  const AuditRecord a = AlterationAudit(c, "PNC-80/111111A", "", "", At("2026-03-01T09:00:01Z"));
  EXPECT_EQ(a.actor, "breachwatchd");
  EXPECT_EQ(a.op, "instrument.ended");
  EXPECT_EQ(a.reason, "order ended: expired");
  EXPECT_EQ(a.detail, "BAIL-1 from 2026-03-01T09:00:00Z (caused by /)");
}

Alert MatchedAlert() {
  Alert a;
  a.alert_id = "01J0000000000000000000000A";
  a.seq = 17;
  a.raised_at = At("2026-03-01T10:00:01Z");
  a.kind = AlertKind::kExclusionZoneBreach;
  a.person_id = "PNC-80/111111A";
  a.instrument_id = "BAIL-1";
  a.condition_id = "c1";
  a.caused_by_source = "tagco";
  a.caused_by_id = "m-7";
  a.recipients = {"officer/PC5555/", "control/MPS/"};
  return a;
}

TEST(CombinationAudit, AlertFromAMatchedConditionRecordsTheCombination) {
  const std::optional<AuditRecord> c = CombinationAudit(MatchedAlert());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(FormatRfc3339(c->at), "2026-03-01T10:00:01Z");
  EXPECT_EQ(c->category, "combination");
  EXPECT_EQ(c->actor, "breachwatchd");
  EXPECT_EQ(c->op, "match");
  EXPECT_EQ(c->subjects, "PNC-80/111111A");
  EXPECT_EQ(c->reason, "condition matching");
  EXPECT_EQ(c->outcome, "exclusion_zone_breach");
  EXPECT_EQ(c->detail,
            "event tagco/m-7 matched condition c1 of BAIL-1: alert 01J0000000000000000000000A");
  EXPECT_EQ(c->recipients, "");
}

TEST(CombinationAudit, NoneWithoutAConditionOrACausingEvent) {
  Alert no_condition = MatchedAlert();
  no_condition.condition_id = "";
  EXPECT_FALSE(CombinationAudit(no_condition).has_value());
  Alert no_event = MatchedAlert();
  no_event.caused_by_id = "";
  EXPECT_FALSE(CombinationAudit(no_event).has_value());
}

TEST(DisclosureAudit, NamesTheAlertAndEveryRecipientInOrder) {
  const AuditRecord d = DisclosureAudit(MatchedAlert());
  EXPECT_EQ(FormatRfc3339(d.at), "2026-03-01T10:00:01Z");
  EXPECT_EQ(d.category, "disclosure");
  EXPECT_EQ(d.actor, "breachwatchd");
  EXPECT_EQ(d.op, "alert.exclusion_zone_breach");
  EXPECT_EQ(d.subjects, "PNC-80/111111A");
  EXPECT_EQ(d.reason, "alert delivery");
  EXPECT_EQ(d.outcome, "ok");
  EXPECT_EQ(d.detail, "alert #17 01J0000000000000000000000A");
  EXPECT_EQ(d.recipients, "officer/PC5555/,control/MPS/");
}

TEST(DisclosureAudit, AnAlertWithoutRecipientsHasAnEmptyList) {
  Alert a = MatchedAlert();
  a.recipients.clear();
  EXPECT_EQ(DisclosureAudit(a).recipients, "");
}

TEST(ErasureAudit, CountsWhatWasRemovedAndTheCuts) {
  const AuditRecord e = ErasureAudit({.at = At("2027-01-01T00:00:00Z"),
                                      .dead_letters = 3,
                                      .dead_letters_before = At("2026-12-01T00:00:00Z"),
                                      .audit_rows = 2,
                                      .audit_before = At("2026-01-01T00:00:00Z"),
                                      .purged_through = 9});
  EXPECT_EQ(FormatRfc3339(e.at), "2027-01-01T00:00:00Z");
  EXPECT_EQ(e.category, "erasure");
  EXPECT_EQ(e.actor, "breachwatchd");
  EXPECT_EQ(e.op, "retention.purge");
  EXPECT_EQ(e.subjects, "");
  EXPECT_EQ(e.reason, "retention policy");
  EXPECT_EQ(e.outcome, "ok");
  EXPECT_EQ(e.detail,
            "3 dead letter(s) received before 2026-12-01T00:00:00Z, 2 audit row(s) dated before "
            "2026-01-01T00:00:00Z (through row 9)");
}

TEST(ErasureAudit, DeadLettersKeptReadAsADash) {
  const AuditRecord e = ErasureAudit({.at = At("2027-01-01T00:00:00Z"),
                                      .audit_rows = 1,
                                      .audit_before = At("2026-01-01T00:00:00Z"),
                                      .purged_through = 1});
  EXPECT_EQ(e.detail,
            "0 dead letter(s) received before -, 1 audit row(s) dated before "
            "2026-01-01T00:00:00Z (through row 1)");
}

}  // namespace
}  // namespace bw::testing
