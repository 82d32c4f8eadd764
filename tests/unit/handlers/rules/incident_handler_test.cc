// check.incident through the Engine: no-contact when both people are named,
// exclusion zones and addresses at the incident's location, recipients.
#include <gtest/gtest.h>

#include <sstream>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr char kSubject[] = "PNC-79/123456X";
constexpr char kProtected[] = "PNC-72/654321Y";
constexpr char kBystander[] = "PNC-90/111111A";

std::string Grant(const std::string& conditions, const std::string& owning_control = "E09000011") {
  return R"({"type":"instrument.granted","id":"g1","source":"custody-lewisham",
         "time":"2016-05-10T14:00:00Z","instrument":{"instrument_id":"DVPO/LW/2016/0007",
         "kind":"dvpo","subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],
         "case_ref":"01LW/12345/16","oic":"MP-PC1234","supervisor":"MP-DS0077",
         "owning_control":")" +
         owning_control + R"(","valid_from":"2016-05-10T14:00:00Z","valid_until":null,
         "conditions":)" +
         conditions + "}}";
}

// `where` is the location part, e.g. R"("at":[-0.02,51.45])" or R"("area":"E09000023")".
std::string Incident(const std::vector<std::string>& persons, const std::string& where,
                     const std::string& officer = "MP-PC5555") {
  std::string list;
  for (const auto& p : persons) list += (list.empty() ? "\"" : ",\"") + p + "\"";
  std::string text = R"({"type":"check.incident","id":"inc-1","source":"checks",
      "time":"2016-08-13T20:55:00Z","incident_ref":"CAD-4711","summary":"domestic disturbance",
      "persons":[)" + list +
                     "]," + where;
  if (!officer.empty()) text += R"(,"officer_id":")" + officer + "\"";
  return text + "}";
}

std::string At(double lon, double lat) {
  std::ostringstream o;
  o.precision(15);
  o << R"("at":[)" << lon << "," << lat << "]";
  return o.str();
}

const char* kNoContact = R"([{"condition_id":"c3","kind":"no_contact","person":"PNC-72/654321Y"}])";

class IncidentHandlerTest : public EngineFixture {
 protected:
  IncidentHandlerTest() : EngineFixture("2016-08-13T21:00:00Z") {}

  // The breach alerts of `out` (a repeat_breach from counting is another engineer's concern).
  static std::vector<Alert> Breaches(const Outcome& out) {
    std::vector<Alert> v;
    for (const auto& a : out.alerts) {
      if (a.kind != AlertKind::kRepeatBreach) v.push_back(a);
    }
    return v;
  }
};

TEST_F(IncidentHandlerTest, NoContactBreachedWhenBothAreInTheIncident) {
  Handle(Grant(kNoContact));
  Outcome out =
      Handle(Incident({kBystander, kSubject, kProtected}, At(kGreenwichLon, kGreenwichLat)));
  ASSERT_EQ(out.alerts.size(), 1u) << out.note;
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kNoContactBreach);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.person_id, kSubject);
  EXPECT_EQ(a.instrument_id, "DVPO/LW/2016/0007");
  EXPECT_EQ(a.condition_id, "c3");
  EXPECT_FALSE(a.in_custody);
  // OIC, attending officer, control room of the area, owning control room.
  EXPECT_EQ(a.recipients, (std::vector<std::string>{"officer/MP-PC1234/", "officer/MP-PC5555/",
                                                    "control/E09000011/"}));
  EXPECT_EQ(a.extra.at("protected_person").as_string(), kProtected);
  EXPECT_EQ(a.extra.at("incident_ref").as_string(), "CAD-4711");
  EXPECT_NE(a.summary.find(kProtected), std::string::npos) << a.summary;
  EXPECT_NE(a.summary.find("CAD-4711"), std::string::npos) << a.summary;
  EXPECT_EQ(engine_.state().breaches.at(kSubject).size(), 1u);
}

TEST_F(IncidentHandlerTest, NoContactNotBreachedWithOnlyOneOfThem) {
  Handle(Grant(kNoContact));
  for (const auto& persons : std::vector<std::vector<std::string>>{
           {kSubject}, {kProtected}, {kSubject, kBystander}, {kProtected, kBystander}}) {
    Outcome out = Handle(Incident(persons, At(kGreenwichLon, kGreenwichLat)));
    EXPECT_TRUE(out.alerts.empty()) << out.alerts.front().summary;
  }
}

TEST_F(IncidentHandlerTest, OneAlertPerConditionEvenIfNamedTwice) {
  Handle(Grant(kNoContact));
  Outcome out = Handle(
      Incident({kSubject, kProtected, kSubject, kProtected}, At(kGreenwichLon, kGreenwichLat)));
  EXPECT_EQ(out.alerts.size(), 1u);
}

TEST_F(IncidentHandlerTest, WithoutAttendingOfficerTheOthersAreStillTold) {
  Handle(Grant(kNoContact, "E09000023"));
  Outcome out = Handle(Incident({kSubject, kProtected}, At(kGreenwichLon, kGreenwichLat), ""));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(
      out.alerts[0].recipients,
      (std::vector<std::string>{"officer/MP-PC1234/", "control/E09000011/", "control/E09000023/"}));
}

TEST_F(IncidentHandlerTest, ExclusionZoneAtTheIncidentLocation) {
  Handle(Grant(R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},
                   {"condition_id":"home","kind":"not_to_attend",
                    "place":{"label":"protected person's home","at":[-0.0205,51.4452],"radius_m":100}}])"));
  Outcome out = Handle(Incident({kSubject}, At(kLewishamLon, kLewishamLat)));
  ASSERT_EQ(out.alerts.size(), 1u) << out.note;
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kExclusionZoneBreach);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.recipients, (std::vector<std::string>{"officer/MP-PC1234/", "officer/MP-PC5555/",
                                                    "control/E09000023/", "control/E09000011/"}));
  EXPECT_GT(a.extra.at("distance_inside_m").as_int64(), 0);
  EXPECT_EQ(a.location_areas, std::vector<std::string>{"E09000023"});

  // Named by area only.
  Outcome by_area = Handle(Incident({kSubject}, R"("area":"E09000023")"));
  ASSERT_EQ(by_area.alerts.size(), 1u);
  EXPECT_EQ(by_area.alerts[0].kind, AlertKind::kExclusionZoneBreach);

  // At the protected address (inside Lewisham too): both conditions.
  auto home = Breaches(Handle(Incident({kSubject}, At(-0.0205, 51.4457))));
  ASSERT_EQ(home.size(), 2u);
  EXPECT_EQ(home[0].kind, AlertKind::kExclusionZoneBreach);
  EXPECT_EQ(home[1].kind, AlertKind::kAddressBreach);

  // Outside: nothing; and someone else in the zone is not the subject.
  EXPECT_TRUE(Handle(Incident({kSubject}, At(kGreenwichLon, kGreenwichLat))).alerts.empty());
  EXPECT_TRUE(Handle(Incident({kBystander}, At(kLewishamLon, kLewishamLat))).alerts.empty());
}

}  // namespace
}  // namespace bw
