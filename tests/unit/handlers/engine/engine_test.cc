// Engine behaviour for the walking skeleton: instruments, check.person against
// exclusion zones and addresses, recipients, time-in-force.  Injected clock, no sleeps.
#include "handlers/engine/engine.h"

#include <gtest/gtest.h>

#include <sstream>

#include "handlers/base/time_util.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

std::string Grant(const std::string& type, const std::string& time, const std::string& conditions,
                  const std::string& valid_until = "null") {
  return R"({"type":")" + type + R"(","id":"g-)" + time +
         R"(","source":"custody-lewisham","time":")" + time +
         R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
         "valid_from":"2016-05-10T14:00:00Z","valid_until":)" +
         valid_until + R"(,"conditions":)" + conditions + "}}";
}

const char* kLewishamExclusion =
    R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}])";

std::string Check(const std::string& time, double lon, double lat,
                  const std::string& officer = "MP-PC5555") {
  std::ostringstream o;
  o.precision(15);
  o << R"({"type":"check.person","id":"chk-)" << time << lon << R"(","source":"checks","time":")"
    << time << R"(","person_id":"PNC-79/123456X","officer_id":")" << officer << R"(","at":[)" << lon
    << "," << lat << "]}";
  return o.str();
}

class EngineTest : public EngineFixture {
 protected:
  EngineTest() : EngineFixture("2016-08-13T21:00:00Z") {}
};

TEST_F(EngineTest, CheckInsideExcludedBoroughRaisesCriticalBreachToOfficersAndControlRoom) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Outcome out = Handle(Check("2016-08-13T20:59:30Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 2u);
  const Alert& breach = out.alerts[0];
  EXPECT_EQ(breach.kind, AlertKind::kExclusionZoneBreach);
  EXPECT_EQ(breach.severity, Severity::kCritical);
  EXPECT_EQ(breach.instrument_id, "BAIL/LW/2016/0412");
  EXPECT_EQ(breach.condition_id, "c1");
  EXPECT_EQ(breach.case_ref, "01LW/12345/16");
  EXPECT_FALSE(breach.late);
  // Checking officer, OIC, control room of the area; the owning control is the same room.
  EXPECT_EQ(breach.recipients, (std::vector<std::string>{"officer/MP-PC5555/", "officer/MP-PC1234/",
                                                         "control/E09000023/"}));
  EXPECT_NE(breach.summary.find("Lewisham"), std::string::npos) << breach.summary;
  EXPECT_GT(breach.extra.at("distance_inside_m").as_int64(), 0);

  const Alert& result = out.alerts[1];
  EXPECT_EQ(result.kind, AlertKind::kCheckResult);
  EXPECT_EQ(result.recipients, std::vector<std::string>{"officer/MP-PC5555/"});
  // The instrument in force by version; the daemon puts its JSON in (instrument_bodies.h).
  EXPECT_EQ(result.embed_instruments,
            (std::vector<InstrumentVersionRef>{{"BAIL/LW/2016/0412", 1}}));
  EXPECT_TRUE(result.extra.at("instruments").as_array().empty());
  EXPECT_EQ(result.extra.at("breached").as_array(), boost::json::array{"c1"});
}

TEST_F(EngineTest, OwningControlDifferentFromAreaGetsItsOwnCopy) {
  std::string grant = Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion);
  grant.replace(grant.find(R"("owning_control":"E09000023")"), 28,
                R"("owning_control":"E09000011")");
  Handle(grant);
  Outcome out = Handle(Check("2016-08-13T20:55:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[0].recipients,
            (std::vector<std::string>{"officer/MP-PC5555/", "officer/MP-PC1234/",
                                      "control/E09000023/", "control/E09000011/"}));
}

TEST_F(EngineTest, CheckOutsideTheZoneYieldsOnlyTheCheckResult) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Outcome out = Handle(Check("2016-08-13T20:55:00Z", kGreenwichLon, kGreenwichLat));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kCheckResult);
  EXPECT_TRUE(out.alerts[0].extra.at("breached").as_array().empty());
  EXPECT_EQ(out.alerts[0].location_areas, std::vector<std::string>{"E09000011"});
}

TEST_F(EngineTest, CheckOfPersonWithoutInstrumentsStillAnswersTheOfficer) {
  Outcome out = Handle(Check("2016-08-13T20:55:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kCheckResult);
  EXPECT_NE(out.alerts[0].summary.find("no instrument in force"), std::string::npos);
}

TEST_F(EngineTest, MatchesAgainstConditionsInForceAtEventTime) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion,
               R"("2016-07-15T09:00:00Z")"));
  // Before valid_from, and after valid_until: no breach.
  EXPECT_EQ(Handle(Check("2016-05-10T13:59:59Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
  EXPECT_EQ(Handle(Check("2016-07-15T09:00:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
  // In force: breach, even though the check arrives late.
  Outcome late = Handle(Check("2016-06-01T12:00:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(late.alerts.size(), 2u);
  EXPECT_TRUE(late.alerts[0].late);
}

TEST_F(EngineTest, VariationReplacesConditionsFromItsTime) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Handle(Grant("instrument.varied", "2016-08-01T10:00:00Z", "[]"));
  EXPECT_EQ(Handle(Check("2016-07-31T10:00:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 2u);
  EXPECT_EQ(Handle(Check("2016-08-02T10:00:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
}

TEST_F(EngineTest, EndedInstrumentNoLongerApplies) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Handle(R"({"type":"instrument.ended","id":"e1","source":"custody","time":"2016-08-01T00:00:00Z",
             "instrument_id":"BAIL/LW/2016/0412","reason":"nfa"})");
  EXPECT_EQ(Handle(Check("2016-08-02T10:00:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
  EXPECT_EQ(Handle(Check("2016-07-31T10:00:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 2u);
}

TEST_F(EngineTest, UnknownZoneCodeRejectsTheWholeInstrument) {
  auto out = engine_.Decide(Decode(Grant("instrument.granted", "2016-05-10T14:00:00Z",
                                         R"([{"condition_id":"c0","kind":"other","text":"x"},
                                             {"condition_id":"c1","kind":"exclusion_zone","zone":"E09999999"}])")));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().reason(), "unknown_code");
  EXPECT_EQ(out.status().field(), "instrument.conditions[1].zone");
  EXPECT_EQ(engine_.instrument_count(), 0u);
}

TEST_F(EngineTest, GrantTwiceAndVaryUnknownAreRejected) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  auto again = engine_.Decide(
      Decode(Grant("instrument.granted", "2016-05-11T14:00:00Z", kLewishamExclusion)));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().reason(), "conflict");
  std::string vary = Grant("instrument.varied", "2016-05-11T14:00:00Z", kLewishamExclusion);
  vary.replace(vary.find("BAIL/LW/2016/0412"), 17, "BAIL/LW/2016/9999");
  auto unknown = engine_.Decide(Decode(vary));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().reason(), "not_found");
}

TEST_F(EngineTest, DecideDoesNotChangeState) {
  auto out = engine_.Decide(
      Decode(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion)));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(engine_.instrument_count(), 0u);
  EXPECT_TRUE(engine_.InForce("PNC-79/123456X", T("2016-06-01T00:00:00Z")).empty());
  engine_.Apply(*out);
  EXPECT_EQ(engine_.InForce("PNC-79/123456X", T("2016-06-01T00:00:00Z")).size(), 1u);
}

TEST_F(EngineTest, InlinePolygonZoneAndNotToAttendPlace) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z",
               R"([{"condition_id":"z","kind":"exclusion_zone","zone":{"type":"Polygon",
                    "coordinates":[[[-0.03,51.45],[-0.02,51.45],[-0.02,51.46],[-0.03,51.46],[-0.03,51.45]]]}},
                   {"condition_id":"home","kind":"not_to_attend",
                    "place":{"label":"protected person's home","at":[-0.0205,51.4452],"radius_m":100}}])"));
  Outcome in_polygon = Handle(Check("2016-08-13T20:00:00Z", -0.025, 51.455));
  ASSERT_EQ(in_polygon.alerts.size(), 2u);
  EXPECT_EQ(in_polygon.alerts[0].condition_id, "z");
  // ~55 m north of the protected address: inside the 100 m radius.
  Outcome at_home = Handle(Check("2016-08-13T20:01:00Z", -0.0205, 51.4457));
  ASSERT_EQ(at_home.alerts.size(), 2u);
  EXPECT_EQ(at_home.alerts[0].kind, AlertKind::kAddressBreach);
  EXPECT_EQ(at_home.alerts[0].severity, Severity::kCritical);
  EXPECT_NEAR(at_home.alerts[0].extra.at("distance_m").as_int64(), 56, 2);
  // ~220 m away: no breach.
  EXPECT_EQ(Handle(Check("2016-08-13T20:02:00Z", -0.0205, 51.4472)).alerts.size(), 1u);
}

TEST_F(EngineTest, MissingZoneCodesGuardsZoneReload) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  EXPECT_TRUE(engine_.MissingZoneCodes(*LondonBoroughs()).empty());
  auto empty = ZoneIndex::Build({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(engine_.MissingZoneCodes(**empty), std::vector<std::string>{"E09000023"});
}

}  // namespace
}  // namespace bw
