// The person's history on every breach, arrest and check (protocol 9.1),
// through the Engine: breaches, arrests, releases with their outcome and
// variations (re-bail on the same conditions included), newest first, at most
// history_max; breach_count at the alert's time; outcomes of resolved alerts.
// Injected clock, no sleeps.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr const char* kSubject = "PNC-79/123456X";
constexpr const char* kBail = "BAIL/LW/2016/0412";
constexpr const char* kLewishamExclusion =
    R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}])";
constexpr const char* kOtherConditions =
    R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000022"}])";

int counter = 0;

std::string InstrumentEvent(const std::string& type, const std::string& time,
                            const std::string& conditions) {
  return R"({"type":")" + type + R"(","id":"ins-)" + std::to_string(++counter) +
         R"(","source":"custody-lewisham","time":")" + time +
         R"(","instrument":{"instrument_id":")" + kBail + R"(","kind":"police_bail","subject":")" +
         kSubject +
         R"(","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
         "valid_from":"2016-08-01T00:00:00Z","valid_until":null,"conditions":)" +
         conditions + "}}";
}

std::string Envelope(const std::string& type, const std::string& time, boost::json::object body) {
  body["type"] = type;
  body["id"] = "ev-" + std::to_string(++counter);
  body["source"] = type.substr(0, type.find('.'));
  body["time"] = time;
  body["person_id"] = kSubject;
  return boost::json::serialize(body);
}

std::string Arrest(const std::string& time, const std::string& reason) {
  return Envelope("custody.arrested", time,
                  {{"arresting_officer", "MP-PC9999"}, {"reason", reason}, {"area", "E09000023"}});
}

std::string Release(const std::string& time, const std::string& outcome) {
  return Envelope("custody.released", time, {{"outcome", outcome}});
}

std::string CheckInLewisham(const std::string& time) {
  return Envelope(
      "check.person", time,
      {{"officer_id", "MP-PC5555"}, {"at", boost::json::array{kLewishamLon, kLewishamLat}}});
}

std::string FixInLewisham(const std::string& time) {
  return Envelope("tag.position", time,
                  {{"device_id", "TAG-0042"},
                   {"at", boost::json::array{kLewishamLon, kLewishamLat}},
                   {"accuracy_m", 10}});
}

const Alert* OfKind(const Outcome& out, AlertKind kind) {
  for (const auto& a : out.alerts) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

// "kind" of each history entry, in the order the alert carries them.
std::vector<std::string> Kinds(const Alert& a) {
  std::vector<std::string> kinds;
  for (const auto& e : a.extra.at("history").as_array()) {
    kinds.emplace_back(e.at("kind").as_string());
  }
  return kinds;
}

std::string Field(const boost::json::value& entry, const char* key) {
  const auto* v = entry.as_object().if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

class HistoryTest : public EngineFixture {
 protected:
  explicit HistoryTest(Policy policy = {})
      : EngineFixture("2016-08-20T00:00:00Z", LondonBoroughs(), policy) {}
};

// The night in the review: arrested for breach three days ago, re-bailed on the same
// conditions, stopped inside the zone again.  The alert in the officer's hand says so.
TEST_F(HistoryTest, BreachFromACheckCarriesTheBreachArrestAndTheReBailOnTheSameConditions) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Handle(Arrest("2016-08-10T21:00:00Z", "breach"));
  Handle(Release("2016-08-11T09:00:00Z", "rebailed"));
  Handle(InstrumentEvent("instrument.varied", "2016-08-11T09:05:00Z", kLewishamExclusion));

  Outcome out = Handle(CheckInLewisham("2016-08-13T20:40:00Z"));
  const Alert* breach = OfKind(out, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(breach, nullptr);
  EXPECT_EQ(breach->extra.at("breach_count").as_int64(), 2) << "the arrest and this breach";
  EXPECT_EQ(Kinds(*breach), (std::vector<std::string>{"exclusion_zone_breach", "instrument_varied",
                                                      "custody_release", "breach_arrest"}));
  const auto& history = breach->extra.at("history").as_array();
  EXPECT_EQ(Field(history[0], "time"), "2016-08-13T20:40:00Z");
  EXPECT_EQ(Field(history[0], "condition_id"), "c1");
  EXPECT_EQ(Field(history[0], "instrument_id"), kBail);
  EXPECT_TRUE(history[1].at("same_conditions").as_bool()) << "re-bail on the same conditions";
  EXPECT_EQ(Field(history[1], "instrument_id"), kBail);
  EXPECT_EQ(Field(history[2], "outcome"), "rebailed");
  EXPECT_EQ(Field(history[3], "time"), "2016-08-10T21:00:00Z");
  EXPECT_EQ(Field(history[3], "outcome"), "rebailed") << "the arrest ended in that release";

  // The officer's check_result carries the same history and count.
  const Alert* result = OfKind(out, AlertKind::kCheckResult);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->extra.at("history"), breach->extra.at("history"));
  EXPECT_EQ(result->extra.at("breach_count").as_int64(), 2);
}

TEST_F(HistoryTest, AVariationWithOtherConditionsIsNotMarkedSame) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Handle(InstrumentEvent("instrument.varied", "2016-08-05T00:00:00Z", kOtherConditions));
  Handle(InstrumentEvent("instrument.varied", "2016-08-06T00:00:00Z", kOtherConditions));
  Outcome out = Handle(CheckInLewisham("2016-08-13T20:40:00Z"));
  const Alert* result = OfKind(out, AlertKind::kCheckResult);
  ASSERT_NE(result, nullptr);
  const auto& history = result->extra.at("history").as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0].at("same_conditions").as_bool()) << "06: same as the 05 version";
  EXPECT_FALSE(history[1].at("same_conditions").as_bool()) << "05: Lewisham became Greenwich";
  EXPECT_EQ(result->extra.at("breach_count").as_int64(), 0);
}

TEST_F(HistoryTest, ArrestForAnOffenceAndReleasesWithTheirOutcomes) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Outcome arrest = Handle(Arrest("2016-08-05T22:00:00Z", "offence"));
  const Alert* arrested = OfKind(arrest, AlertKind::kSubjectArrested);
  ASSERT_NE(arrested, nullptr);
  EXPECT_EQ(Kinds(*arrested), std::vector<std::string>{"subject_arrested"});
  EXPECT_EQ(arrested->extra.at("breach_count").as_int64(), 0) << "an offence is not a breach";

  Handle(Release("2016-08-06T10:00:00Z", "remanded"));
  Handle(Release("2016-08-09T10:00:00Z", "court_bailed"));
  Outcome again = Handle(Arrest("2016-08-12T22:00:00Z", "breach"));
  const Alert* breach_arrest = OfKind(again, AlertKind::kBreachArrest);
  ASSERT_NE(breach_arrest, nullptr);
  EXPECT_EQ(Kinds(*breach_arrest),
            (std::vector<std::string>{"breach_arrest", "custody_release", "custody_release",
                                      "subject_arrested"}));
  const auto& history = breach_arrest->extra.at("history").as_array();
  EXPECT_EQ(Field(history[0], "outcome"), "") << "still in custody: no outcome yet";
  EXPECT_EQ(Field(history[1], "outcome"), "court_bailed");
  EXPECT_EQ(Field(history[2], "outcome"), "remanded");
  EXPECT_EQ(Field(history[3], "outcome"), "court_bailed") << "the last release after it";
  EXPECT_EQ(breach_arrest->extra.at("breach_count").as_int64(), 1);
}

TEST_F(HistoryTest, EveryBreachFromAFixCarriesCountAndHistory) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Outcome out = Handle(FixInLewisham("2016-08-13T20:40:00Z"));
  const Alert* breach = OfKind(out, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(breach, nullptr);
  EXPECT_EQ(breach->extra.at("breach_count").as_int64(), 1);
  EXPECT_EQ(Kinds(*breach), std::vector<std::string>{"exclusion_zone_breach"});
  EXPECT_EQ(breach->extra.at("breach_window_days").as_int64(), 90);
}

TEST_F(HistoryTest, TheOutcomeRecordedForABreachAlertShowsInLaterHistory) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Outcome first = Handle(CheckInLewisham("2016-08-12T20:40:00Z"));
  const Alert* breach = OfKind(first, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(breach, nullptr);
  engine_.RecordAlertOutcome(*breach, "warned");
  // The check_result of the same check is no breach: its outcome is not the breach's.
  engine_.RecordAlertOutcome(*OfKind(first, AlertKind::kCheckResult), "no_action");

  Outcome second = Handle(CheckInLewisham("2016-08-13T20:40:00Z"));
  const Alert* next = OfKind(second, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(next, nullptr);
  const auto& history = next->extra.at("history").as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(Field(history[0], "outcome"), "");
  EXPECT_EQ(Field(history[1], "time"), "2016-08-12T20:40:00Z");
  EXPECT_EQ(Field(history[1], "outcome"), "warned");
}

TEST_F(HistoryTest, AnyArrestAlertOfTheArrestRecordsItsOutcome) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Outcome arrest = Handle(Arrest("2016-08-10T21:00:00Z", "breach"));
  const Alert* alert = OfKind(arrest, AlertKind::kBreachArrest);
  ASSERT_NE(alert, nullptr);
  Alert other_instrument = *alert;
  other_instrument.instrument_id = "DVPO/LW/2016/0007";
  engine_.RecordAlertOutcome(other_instrument, "in_custody");
  const auto& lines = engine_.state().history.at(kSubject);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].outcome, "in_custody");
}

TEST_F(HistoryTest, AReleaseKeepsItsOwnOutcomeWhateverIsRecordedForItsAlert) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Handle(Arrest("2016-08-10T21:00:00Z", "offence"));
  Outcome release = Handle(Envelope("custody.released", "2016-08-11T09:00:00Z",
                                    {{"outcome", "rebailed"}, {"instrument_id", kBail}}));
  const Alert* alert = OfKind(release, AlertKind::kCustodyRelease);
  ASSERT_NE(alert, nullptr);
  engine_.RecordAlertOutcome(*alert, "no_action");
  const auto& lines = engine_.state().history.at(kSubject);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].kind, "custody_release");
  EXPECT_EQ(lines[1].outcome, "rebailed");
}

class HistoryBoundTest : public HistoryTest {
 protected:
  static Policy ThreeEntries() {
    Policy p;
    p.history_max = 3;
    return p;
  }
  HistoryBoundTest() : HistoryTest(ThreeEntries()) {}
};

TEST_F(HistoryBoundTest, NewestFirstAndAtMostHistoryMaxEvenForLateEvents) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kLewishamExclusion));
  Handle(Arrest("2016-08-02T10:00:00Z", "offence"));
  Handle(Release("2016-08-03T10:00:00Z", "nfa"));
  Handle(Arrest("2016-08-04T10:00:00Z", "offence"));
  Handle(Release("2016-08-05T10:00:00Z", "released_under_investigation"));
  // A late event dated before everything kept: not kept, and the bound holds.
  Handle(Arrest("2016-08-01T12:00:00Z", "offence"));
  EXPECT_EQ(engine_.state().history.at(kSubject).size(), 3u);

  Outcome out = Handle(CheckInLewisham("2016-08-13T20:40:00Z"));
  const Alert* result = OfKind(out, AlertKind::kCheckResult);
  ASSERT_NE(result, nullptr);
  const auto& history = result->extra.at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(Field(history[0], "time"), "2016-08-13T20:40:00Z");
  EXPECT_EQ(Field(history[1], "time"), "2016-08-05T10:00:00Z");
  EXPECT_EQ(Field(history[2], "time"), "2016-08-04T10:00:00Z");
  EXPECT_EQ(Field(history[2], "outcome"), "released_under_investigation");
  // The count is not bounded by the history: it counts every breach in the window.
  EXPECT_EQ(result->extra.at("breach_count").as_int64(), 1);
}

}  // namespace
}  // namespace bw
