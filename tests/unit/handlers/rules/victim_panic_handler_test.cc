// victim.panic (protocol 9.3) through the Engine: one officer copy and one
// control copy per instrument protecting her, routed as the spec says, with the
// subject's latest fix and custody state; her position in the control copy
// only; a press by a person nobody protects is unmatched.  Injected clock.
#include <gtest/gtest.h>

#include <sstream>

#include "handlers/alerts/protected_location.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr char kProtected[] = "PNC-72/654321Y";

std::string Grant(const std::string& id, const std::string& subject, const std::string& oic,
                  const std::string& owning_control) {
  return R"({"type":"instrument.granted","id":"g-)" + id +
         R"(","source":"court","time":"2016-08-01T10:00:00Z",
      "instrument":{"instrument_id":")" +
         id + R"(","kind":"dvpo","subject":")" + subject +
         R"(","protected_persons":["PNC-72/654321Y"],"oic":")" + oic +
         R"(","supervisor":"MP-DS0077","owning_control":")" + owning_control +
         R"(","safety_contacts":["IDVA-LW-03"],"valid_from":"2016-08-01T10:00:00Z",
      "valid_until":null,"conditions":[{"condition_id":"c7","kind":"proximity",
      "person":"PNC-72/654321Y"}]}})";
}

std::string Panic(const std::string& time, const std::string& at = "") {
  return R"({"type":"victim.panic","id":"p-)" + time +
         R"(","source":"em-provider","time":")" + time +
         R"(","person_id":"PNC-72/654321Y","device_id":"FOB-3")" +
         (at.empty() ? "" : R"(,"at":)" + at + R"(,"accuracy_m":15)") + "}";
}

std::string Fix(const char* type, const char* person, const std::string& time, double lon,
                double lat) {
  std::ostringstream o;
  o.precision(15);
  o << R"({"type":")" << type << R"(","id":"f-)" << person << time
    << R"(","source":"em-provider","time":")" << time << R"(","person_id":")" << person
    << R"(","device_id":"D","at":[)" << lon << "," << lat << R"(],"accuracy_m":5})";
  return o.str();
}

class VictimPanicHandlerTest : public EngineFixture {
 protected:
  VictimPanicHandlerTest() : EngineFixture("2016-08-13T21:00:00Z") {
    Handle(Grant("DVPO/GR/2016/0007", "PNC-79/123456X", "MP-PC1234", "E09000011"));
  }
  static const Alert* Find(const Outcome& out, const std::string& instrument, const char* copy) {
    for (const auto& a : out.alerts) {
      if (a.instrument_id == instrument && a.extra.contains(kAlertCopyKey) &&
          a.extra.at(kAlertCopyKey).as_string() == copy) {
        return &a;
      }
    }
    return nullptr;
  }
};

TEST_F(VictimPanicHandlerTest, GoesToEveryInstrumentProtectingHerInTwoCopies) {
  Handle(Grant("NMO/LW/2016/0099", "PNC-80/222222B", "MP-PC4321", "E09000023"));
  Outcome out = Handle(
      Panic("2016-08-13T20:59:00Z", "[" + std::to_string(kLewishamLon) + "," +
                                        std::to_string(kLewishamLat) + "]"));
  ASSERT_EQ(out.alerts.size(), 4u);
  for (const auto& a : out.alerts) {
    EXPECT_EQ(a.kind, AlertKind::kVictimPanic);
    EXPECT_EQ(a.severity, Severity::kCritical);
    EXPECT_EQ(a.extra.at("protected_person_id").as_string(), kProtected);
  }
  const Alert* officer = Find(out, "DVPO/GR/2016/0007", "officer");
  const Alert* control = Find(out, "DVPO/GR/2016/0007", "control");
  ASSERT_NE(officer, nullptr);
  ASSERT_NE(control, nullptr);
  EXPECT_EQ(officer->person_id, "PNC-79/123456X");
  EXPECT_EQ(officer->recipients,
            (std::vector<std::string>{"officer/MP-PC1234/", "officer/IDVA-LW-03/"}));
  // The control room of her area (Lewisham) and the owning one (Greenwich).
  EXPECT_EQ(control->recipients,
            (std::vector<std::string>{"control/E09000023/", "control/E09000011/"}));
  EXPECT_EQ(ProtectedPersonLocated(*officer), "");
  EXPECT_EQ(ProtectedPersonLocated(*control), kProtected);
  EXPECT_FALSE(officer->location_at.has_value()) << "no fix of the subject: no location";
  const Alert* other = Find(out, "NMO/LW/2016/0099", "officer");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->person_id, "PNC-80/222222B");
  EXPECT_EQ(other->recipients.front(), "officer/MP-PC4321/");
}

TEST_F(VictimPanicHandlerTest, CarriesTheSubjectsLatestFixDistanceAndCustodyState) {
  Handle(Fix("tag.position", "PNC-79/123456X", "2016-08-13T20:58:00Z", kGreenwichLon,
             kGreenwichLat));
  Outcome o;
  const TimePoint since = T("2016-08-13T20:00:00Z");
  o.mutations.push_back([since](EngineState& s) {
    s.custody["PNC-79/123456X"].push_back(CustodyInterval{since, std::nullopt});
  });
  engine_.Apply(o);
  Outcome out = Handle(Panic("2016-08-13T20:59:00Z", "[" + std::to_string(kLewishamLon) + "," +
                                                        std::to_string(kLewishamLat) + "]"));
  const Alert* officer = Find(out, "DVPO/GR/2016/0007", "officer");
  ASSERT_NE(officer, nullptr);
  // In custody or not, a panic pages: critical, to the officers.
  EXPECT_EQ(officer->severity, Severity::kCritical);
  EXPECT_TRUE(officer->in_custody);
  EXPECT_EQ(officer->extra.at("custody_since").as_string(), "2016-08-13T20:00:00Z");
  ASSERT_TRUE(officer->location_at);
  EXPECT_DOUBLE_EQ(officer->location_at->x(), kGreenwichLon);
  EXPECT_EQ(officer->extra.at("subject_fix").at("age_s").as_int64(), 60);
  const double d = GeodesicDistanceMeters(GeoPoint(kGreenwichLon, kGreenwichLat),
                                          GeoPoint(kLewishamLon, kLewishamLat));
  EXPECT_NEAR(officer->extra.at("distance_m").as_int64(), d, 1);
  EXPECT_NE(officer->summary.find("in custody since"), std::string::npos) << officer->summary;
}

TEST_F(VictimPanicHandlerTest, WithoutAPositionUsesHerDevicesLatestFix) {
  Handle(Fix("victim.position", kProtected, "2016-08-13T20:55:00Z", kGreenwichLon,
             kGreenwichLat));
  Outcome out = Handle(Panic("2016-08-13T20:59:00Z"));
  const Alert* control = Find(out, "DVPO/GR/2016/0007", "control");
  ASSERT_NE(control, nullptr);
  const auto& loc = control->extra.at(kProtectedPersonLocationKey).as_object();
  EXPECT_EQ(loc.at("time").as_string(), "2016-08-13T20:55:00Z");
  // Greenwich is her area and the owning control room: named once.
  EXPECT_EQ(control->recipients, std::vector<std::string>{"control/E09000011/"});
}

TEST_F(VictimPanicHandlerTest, PanicOfAPersonNobodyProtectsIsUnmatched) {
  Outcome out = Handle(R"({"type":"victim.panic","id":"p-x","source":"em-provider",
      "time":"2016-08-13T20:59:00Z","person_id":"PNC-11/111111A","device_id":"FOB-9"})");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_EQ(out.alerts[0].extra.at("event_type").as_string(), "victim.panic");
}

}  // namespace
}  // namespace bw
