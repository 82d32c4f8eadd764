// Alerts about a high-risk case (protocol 9.2), through the Engine: severity
// one step up, the risk object and high_risk carried, the owning control room
// always and the safety contacts at once when critical; a variation raising the
// risk mid-episode; the acknowledgement deadline ack_sla_high_risk_s, also for
// an alert read back from its stored payload.  Injected clock, no sleeps.
#include "handlers/engine/high_risk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "handlers/alerts/escalation.h"
#include "handlers/alerts/escalation_routing.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr const char* kSubject = "PNC-79/123456X";
constexpr const char* kHighRisk = R"({"level":"high","tool":"DARA","markers":["VI","WE"]})";
constexpr const char* kMediumRisk = R"({"level":"medium","marac":false,"mappa_level":1})";

int counter = 0;

// An instrument of kSubject: Lewisham exclusion, owned by Greenwich's control
// room (so that the area's room and the owning room differ), one safety contact.
std::string InstrumentEvent(const std::string& type, const std::string& time, const char* risk) {
  return R"({"type":")" + type + R"(","id":"ins-)" + std::to_string(++counter) +
         R"(","source":"court","time":")" + time +
         R"(","instrument":{"instrument_id":"DVPO/LW/2016/0007","kind":"dvpo","subject":")" +
         kSubject + R"(","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "safety_contacts":["IDVA-LW-01"],"valid_from":"2016-08-01T00:00:00Z","valid_until":null,
         "conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}])" +
         (risk != nullptr ? std::string(R"(,"risk":)") + risk : std::string()) + "}}";
}

std::string Envelope(const std::string& type, const std::string& time, boost::json::object body) {
  body["type"] = type;
  body["id"] = "ev-" + std::to_string(++counter);
  body["source"] = type.substr(0, type.find('.'));
  body["time"] = time;
  body["person_id"] = kSubject;
  return boost::json::serialize(body);
}

std::string FixInLewisham(const std::string& time) {
  return Envelope("tag.position", time,
                  {{"device_id", "TAG-0042"},
                   {"at", boost::json::array{kLewishamLon, kLewishamLat}},
                   {"accuracy_m", 10}});
}

std::string SignalLost(const std::string& time) {
  return Envelope("tag.signal", time, {{"device_id", "TAG-0042"}, {"state", "lost"}});
}

bool Has(const Alert& a, const std::string& topic) {
  return std::find(a.recipients.begin(), a.recipients.end(), topic) != a.recipients.end();
}

const Alert* OfKind(const Outcome& out, AlertKind kind) {
  for (const auto& a : out.alerts) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

class HighRiskTest : public EngineFixture {
 protected:
  HighRiskTest() : EngineFixture("2016-08-20T00:00:00Z") {}
};

TEST_F(HighRiskTest, CriticalBreachStaysCriticalAndGoesToOwningControlAndSafetyContacts) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kHighRisk));
  Outcome out = Handle(FixInLewisham("2016-08-13T20:40:00Z"));
  const Alert* a = OfKind(out, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kCritical);
  EXPECT_TRUE(a->extra.at("high_risk").as_bool());
  EXPECT_EQ(a->extra.at("risk").at("tool").as_string(), "DARA");
  EXPECT_EQ(a->extra.at("risk").at("markers").as_array().size(), 2u);
  EXPECT_TRUE(Has(*a, "officer/MP-PC1234/"));
  EXPECT_TRUE(Has(*a, "control/E09000023/")) << "the area's control room";
  EXPECT_TRUE(Has(*a, "control/E09000011/")) << "the owning control room";
  EXPECT_TRUE(Has(*a, "officer/IDVA-LW-01/")) << "critical: the safety contacts at once";
}

TEST_F(HighRiskTest, HighBecomesCriticalWithTheSameRouting) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kHighRisk));
  Outcome out = Handle(SignalLost("2016-08-13T20:40:00Z"));
  const Alert* a = OfKind(out, AlertKind::kTagSignalLost);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kCritical) << "high -> critical";
  EXPECT_TRUE(Has(*a, "control/E09000011/"));
  EXPECT_TRUE(Has(*a, "officer/IDVA-LW-01/"));
}

TEST_F(HighRiskTest, MediumBecomesHighAndGoesToOwningControlButNotAtOnceToSafetyContacts) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", R"({"marac":true})"));
  // custody_release is medium: high for a high-risk case, to the owning control room too.
  Handle(
      Envelope("custody.arrested", "2016-08-13T21:00:00Z",
               {{"arresting_officer", "MP-PC9999"}, {"reason", "offence"}, {"area", "E09000023"}}));
  Outcome out =
      Handle(Envelope("custody.released", "2016-08-14T09:00:00Z", {{"outcome", "charged_bailed"}}));
  const Alert* a = OfKind(out, AlertKind::kCustodyRelease);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kHigh);
  EXPECT_TRUE(a->extra.at("high_risk").as_bool());
  EXPECT_TRUE(Has(*a, "control/E09000011/"));
  EXPECT_EQ(a->extra.at("owning_control").as_string(), "E09000011");
}

TEST_F(HighRiskTest, KindsNotAboutTheDangerAreNotRaised) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kHighRisk));
  Outcome out = Handle(Envelope("tag.battery", "2016-08-13T20:00:00Z",
                                {{"device_id", "TAG-0042"}, {"level", "dead"}}));
  const Alert* a = OfKind(out, AlertKind::kTagBattery);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kHigh) << "a dead battery stays high";
  EXPECT_TRUE(a->extra.at("high_risk").as_bool()) << "but says the case is high risk";
  EXPECT_FALSE(Has(*a, "officer/IDVA-LW-01/"));
}

TEST_F(HighRiskTest, ACaseThatIsNotHighRiskCarriesItsRiskUnraised) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kMediumRisk));
  Outcome out = Handle(SignalLost("2016-08-13T20:40:00Z"));
  const Alert* a = OfKind(out, AlertKind::kTagSignalLost);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kHigh);
  EXPECT_FALSE(a->extra.at("high_risk").as_bool());
  EXPECT_EQ(a->extra.at("risk").at("level").as_string(), "medium");
  EXPECT_EQ(a->recipients, std::vector<std::string>{"officer/MP-PC1234/"});
}

TEST_F(HighRiskTest, InCustodyStaysInfoAndTheSeverityItWouldHaveHadIsRaised) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kHighRisk));
  Handle(
      Envelope("custody.arrested", "2016-08-13T19:00:00Z",
               {{"arresting_officer", "MP-PC9999"}, {"reason", "offence"}, {"area", "E09000023"}}));
  Outcome out = Handle(SignalLost("2016-08-13T20:40:00Z"));
  const Alert* a = OfKind(out, AlertKind::kTagSignalLost);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kInfo);
  EXPECT_EQ(a->extra.at("original_severity").as_string(), "critical");
  EXPECT_EQ(a->recipients, std::vector<std::string>{"control/E09000011/"});
}

// Risk raised by a variation while a breach episode is open: the episode does
// not page again (one alert per episode), but everything after the variation
// is judged with the new risk, and the episode after it is raised.
TEST_F(HighRiskTest, RiskRaisedByAVariationMidEpisode) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", nullptr));
  Outcome first = Handle(FixInLewisham("2016-08-13T20:40:00Z"));
  const Alert* before = OfKind(first, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(before, nullptr);
  EXPECT_FALSE(before->extra.contains("high_risk"));
  EXPECT_FALSE(Has(*before, "officer/IDVA-LW-01/"));

  Handle(InstrumentEvent("instrument.varied", "2016-08-13T20:41:00Z", kHighRisk));
  Outcome during = Handle(FixInLewisham("2016-08-13T20:42:00Z"));
  EXPECT_EQ(OfKind(during, AlertKind::kExclusionZoneBreach), nullptr) << "same episode";
  Outcome signal = Handle(SignalLost("2016-08-13T20:43:00Z"));
  ASSERT_NE(OfKind(signal, AlertKind::kTagSignalLost), nullptr);
  EXPECT_EQ(OfKind(signal, AlertKind::kTagSignalLost)->severity, Severity::kCritical);

  // exit_debounce_s (300) later without a breaching fix: a new episode, high risk.
  Outcome later = Handle(FixInLewisham("2016-08-13T21:00:00Z"));
  const Alert* after = OfKind(later, AlertKind::kExclusionZoneBreach);
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(after->extra.at("high_risk").as_bool());
  EXPECT_TRUE(Has(*after, "officer/IDVA-LW-01/"));
  // A late event dated before the variation is judged with the risk then.
  Outcome late = Handle(SignalLost("2016-08-13T20:30:00Z"));
  ASSERT_NE(OfKind(late, AlertKind::kTagSignalLost), nullptr);
  EXPECT_EQ(OfKind(late, AlertKind::kTagSignalLost)->severity, Severity::kHigh);
}

TEST_F(HighRiskTest, CheckResultSaysTheCaseIsHighRisk) {
  Handle(InstrumentEvent("instrument.granted", "2016-08-01T00:00:00Z", kHighRisk));
  Outcome out = Handle(Envelope("check.person", "2016-08-13T20:40:00Z",
                                {{"officer_id", "MP-PC5555"}, {"area", "E09000011"}}));
  const Alert* r = OfKind(out, AlertKind::kCheckResult);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->extra.at("high_risk").as_bool());
  // The instrument (whose JSON carries the risk) by version: the daemon puts its JSON in.
  EXPECT_EQ(r->embed_instruments,
            (std::vector<InstrumentVersionRef>{{"DVPO/LW/2016/0007", 1}}));
  EXPECT_EQ(r->severity, Severity::kInfo);
}

TEST(HighRiskSeverityTest, OneStepUp) {
  EXPECT_EQ(OneStepUp(Severity::kMedium), Severity::kHigh);
  EXPECT_EQ(OneStepUp(Severity::kHigh), Severity::kCritical);
  EXPECT_EQ(OneStepUp(Severity::kCritical), Severity::kCritical);
  EXPECT_EQ(OneStepUp(Severity::kInfo), Severity::kInfo);
}

// The acknowledgement deadline: ack_sla_high_risk_s, read from the alert itself,
// so an alert read back from its stored payload (a restart) keeps it.
TEST(HighRiskSlaTest, DeadlinesAreAckSlaHighRiskAlsoFromTheStoredPayload) {
  Policy policy;  // defaults: ack_sla_s critical 300, high 900; high risk 120, 300
  Alert a;
  a.kind = AlertKind::kExclusionZoneBreach;
  a.severity = Severity::kCritical;
  a.person_id = kSubject;
  a.instrument_id = "DVPO/LW/2016/0007";
  a.recipients = {"officer/MP-PC1234/"};
  a.extra["owning_control"] = "E09000011";
  const TimePoint raised = T("2016-08-13T20:40:05Z");
  auto ordinary = NextEscalation(a, "MP-DS0077", 0, raised, policy);
  ASSERT_TRUE(ordinary.has_value());
  EXPECT_EQ(ordinary->due, raised + std::chrono::seconds(300));

  a.extra["high_risk"] = true;
  auto step = NextEscalation(a, "MP-DS0077", 0, raised, policy);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->due, raised + std::chrono::seconds(120));
  a.severity = Severity::kHigh;
  EXPECT_EQ(AckSlaSeconds(a, policy), 300);
  a.severity = Severity::kCritical;

  // Read back from the stored payload: the level-2 deadline is 2 x 120 s.
  auto stored = AlertFromJson(AlertToJson(a));
  ASSERT_TRUE(stored.ok());
  EngineState state;
  auto ins = std::make_shared<bw::Instrument>();
  ins->instrument_id = a.instrument_id;
  ins->subject = kSubject;
  ins->supervisor = "MP-DS0077";
  ins->owning_control = "E09000011";
  ins->valid_from = T("2016-08-01T00:00:00Z");
  state.instruments.AddVersion(a.instrument_id, {ins->valid_from, ins, ""});
  EscalationDecision d = DecideEscalation(*stored, 0, raised, state, {"E09000011"}, policy);
  ASSERT_TRUE(d.unacknowledged.has_value());
  ASSERT_TRUE(d.next_at.has_value());
  EXPECT_EQ(*d.next_at, raised + std::chrono::seconds(240));
}

}  // namespace
}  // namespace bw
