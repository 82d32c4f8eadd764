// tag.strap_tamper / battery / signal / home_unit through the Engine (protocol
// 4.1, 5.4, 6.3), and the unmatched_tag_event helper.  Injected clock, no sleeps.
#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/rules/device_alerts.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr const char* kSubject = "PNC-79/123456X";

std::string Grant(const std::string& id, const std::string& oic, const std::string& control,
                  const std::string& valid_until = "null") {
  return R"({"type":"instrument.granted","id":"g-)" + id +
         R"(","source":"court","time":"2016-05-10T14:00:00Z","instrument":{"instrument_id":")" +
         id + R"(","kind":"court_bail","subject":"PNC-79/123456X","case_ref":"c-)" + id +
         R"(","oic":")" + oic + R"(","supervisor":"MP-DS0077","owning_control":")" + control +
         R"(","valid_from":"2016-05-10T14:00:00Z","valid_until":)" + valid_until +
         R"(,"conditions":[]}})";
}

int counter = 0;
std::string Tag(const std::string& type, const std::string& extra = "",
                const std::string& time = "2016-08-13T20:00:00Z") {
  return R"({"type":")" + type + R"(","id":"t)" + std::to_string(++counter) +
         R"(","source":"em","time":")" + time +
         R"(","person_id":"PNC-79/123456X","device_id":"EM-1")" +
         (extra.empty() ? "" : "," + extra) + "}";
}

class DeviceTest : public EngineFixture {
 protected:
  DeviceTest() : EngineFixture("2016-08-13T20:01:00Z") {}
};

TEST_F(DeviceTest, StrapTamperIsCriticalToEveryOicAndOwningControl) {
  Handle(Grant("BAIL/1", "MP-PC1", "E09000023"));
  Handle(Grant("DVPO/2", "MP-PC2", "E09000011"));
  Outcome out = Handle(Tag("tag.strap_tamper"));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kTagTamper);
  EXPECT_EQ(out.alerts[0].severity, Severity::kCritical);
  EXPECT_EQ(out.alerts[0].instrument_id, "BAIL/1");
  EXPECT_EQ(out.alerts[0].recipients,
            (std::vector<std::string>{"officer/MP-PC1/", "control/E09000023/"}));
  EXPECT_EQ(out.alerts[1].recipients,
            (std::vector<std::string>{"officer/MP-PC2/", "control/E09000011/"}));
  EXPECT_EQ(out.alerts[0].extra.at("device_id").as_string(), "EM-1");
  EXPECT_FALSE(out.alerts[0].in_custody);
}

TEST_F(DeviceTest, SeveritiesFollowTheSpecAndNonCriticalGoToTheOicOnly) {
  Handle(Grant("BAIL/1", "MP-PC1", "E09000023"));
  struct Case {
    std::string type, extra, kind;
    Severity severity;
  };
  const std::vector<Case> cases = {
      {"tag.battery", R"("level":"dead")", "tag_battery", Severity::kHigh},
      {"tag.battery", R"("level":"critical")", "tag_battery", Severity::kMedium},
      {"tag.battery", R"("level":"low")", "tag_battery", Severity::kMedium},
      {"tag.signal", R"("state":"lost")", "tag_signal_lost", Severity::kHigh},
      {"tag.home_unit", R"("state":"tamper")", "home_unit", Severity::kHigh},
      {"tag.home_unit", R"("state":"power_loss")", "home_unit", Severity::kMedium},
      {"tag.home_unit", R"("state":"moved")", "home_unit", Severity::kMedium},
  };
  for (const auto& c : cases) {
    Outcome out = Handle(Tag(c.type, c.extra));
    ASSERT_EQ(out.alerts.size(), 1u) << c.type << " " << c.extra;
    EXPECT_EQ(AlertKindName(out.alerts[0].kind), c.kind) << c.extra;
    EXPECT_EQ(out.alerts[0].severity, c.severity) << c.extra;
    EXPECT_EQ(out.alerts[0].recipients, std::vector<std::string>{"officer/MP-PC1/"}) << c.extra;
  }
}

TEST_F(DeviceTest, RestoredIsANoteNotAnAlert) {
  Handle(Grant("BAIL/1", "MP-PC1", "E09000023"));
  Outcome signal = Handle(Tag("tag.signal", R"("state":"restored")"));
  EXPECT_TRUE(signal.alerts.empty());
  EXPECT_NE(signal.note.find("signal restored"), std::string::npos) << signal.note;
  EXPECT_TRUE(Handle(Tag("tag.home_unit", R"("state":"restored")")).alerts.empty());
}

TEST_F(DeviceTest, NoInstrumentInForceRaisesUnmatchedTagEventToEveryControlRoom) {
  Handle(Grant("BAIL/1", "MP-PC1", "E09000023", R"("2016-08-01T00:00:00Z")"));
  Outcome out = Handle(Tag("tag.battery", R"("level":"low")"));
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.person_id, kSubject);
  EXPECT_EQ(a.extra.at("event_type").as_string(), "tag.battery");
  ASSERT_EQ(engine_.control_rooms().size(), 33u);
  EXPECT_EQ(a.recipients.size(), 33u);
  EXPECT_NE(std::find(a.recipients.begin(), a.recipients.end(), "control/E09000001/"),
            a.recipients.end());
}

TEST_F(DeviceTest, UnmatchedHelperUsesTheAreaControlRoomWhenTheEventHasALocation) {
  const std::vector<std::string> rooms = {"E09000023", "E09000011", "E09000001"};
  EngineState state;
  Policy policy;
  HandlerContext ctx{state, *LondonBoroughs(), policy, T("2016-08-13T20:01:00Z"), rooms};
  Event e;
  e.id = "p1";
  e.source = "em";
  e.type = EventType::kTagPosition;
  e.time = T("2016-08-13T20:00:00Z");
  e.person_id = kSubject;
  e.device_id = "EM-1";
  e.location.at = GeoPoint(kLewishamLon, kLewishamLat);
  Alert located = MakeUnmatchedTagAlert(ctx, e);
  EXPECT_EQ(located.kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_EQ(located.recipients, std::vector<std::string>{"control/E09000023/"});
  EXPECT_EQ(located.location_areas, std::vector<std::string>{"E09000023"});
  EXPECT_EQ(located.caused_by_id, "p1");

  // Outside every loaded area: all the rooms.
  e.location.at = GeoPoint(-1.8904, 52.4862);  // Birmingham
  EXPECT_EQ(
      MakeUnmatchedTagAlert(ctx, e).recipients,
      (std::vector<std::string>{"control/E09000023/", "control/E09000011/", "control/E09000001/"}));
}

TEST_F(DeviceTest, CustodyTurnsAlertsIntoInfoForTheOwningControlOnly) {
  Handle(Grant("BAIL/1", "MP-PC1", "E09000023"));
  Handle(R"({"type":"custody.arrested","id":"a1","source":"custody","time":"2016-08-13T18:00:00Z",
             "person_id":"PNC-79/123456X","arresting_officer":"MP-PC7","reason":"offence"})");
  Outcome out = Handle(Tag("tag.strap_tamper"));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kTagTamper);
  EXPECT_EQ(out.alerts[0].severity, Severity::kInfo);
  EXPECT_TRUE(out.alerts[0].in_custody);
  EXPECT_EQ(out.alerts[0].recipients, std::vector<std::string>{"control/E09000023/"});
  EXPECT_EQ(out.alerts[0].extra.at("original_severity").as_string(), "critical");
  // Before the arrest (a late report), the OIC is paged as usual.
  Outcome before = Handle(Tag("tag.signal", R"("state":"lost")", "2016-08-13T17:00:00Z"));
  ASSERT_EQ(before.alerts.size(), 1u);
  EXPECT_EQ(before.alerts[0].severity, Severity::kHigh);
  EXPECT_TRUE(before.alerts[0].late);
  EXPECT_EQ(before.alerts[0].recipients, std::vector<std::string>{"officer/MP-PC1/"});
}

}  // namespace
}  // namespace bw
