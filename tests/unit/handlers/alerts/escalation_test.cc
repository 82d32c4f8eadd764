// Acknowledgement SLAs, escalation steps and resolution rules (protocol 6.4).
#include "handlers/alerts/escalation.h"

#include <gtest/gtest.h>

#include "handlers/base/time_util.h"

namespace bw {
namespace {

TimePoint T(const char* s) { return *ParseRfc3339(s); }

Alert Critical() {
  Alert a;
  a.alert_id = "01J-ABC";
  a.seq = 4711;
  a.kind = AlertKind::kExclusionZoneBreach;
  a.severity = Severity::kCritical;
  a.person_id = "PNC-79/123456X";
  a.instrument_id = "BAIL/LW/2016/0412";
  a.condition_id = "c1";
  a.case_ref = "01LW/12345/16";
  a.oic = "MP-PC1234";
  a.event_time = T("2016-08-13T20:14:05Z");
  a.recipients = {"officer/MP-PC5555/", "officer/MP-PC1234/", "control/E09000023/",
                  "control/E09000011/"};
  a.summary = "PNC-79/123456X is inside E09000023 (Lewisham)";
  return a;
}

TEST(EscalationTest, AckSlaBySeverity) {
  Policy p;
  EXPECT_EQ(AckSlaSeconds(Severity::kCritical, p), 300);
  EXPECT_EQ(AckSlaSeconds(Severity::kHigh, p), 900);
  EXPECT_EQ(AckSlaSeconds(Severity::kMedium, p), 3600);
  EXPECT_EQ(AckSlaSeconds(Severity::kInfo, p), std::nullopt);
  p.ack_sla_s.high_s = 120;
  EXPECT_EQ(AckSlaSeconds(Severity::kHigh, p), 120);
}

TEST(EscalationTest, CriticalChainSupervisorThenControlRoomsThenNothing) {
  const TimePoint raised = T("2016-08-13T20:15:00Z");
  const Alert a = Critical();
  auto first = NextEscalation(a, "MP-DS0077", 0, raised, Policy{});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->level, 1);
  EXPECT_EQ(first->due, T("2016-08-13T20:20:00Z"));
  EXPECT_EQ(first->recipients, std::vector<std::string>{"officer/MP-DS0077/"});

  auto second = NextEscalation(a, "MP-DS0077", 1, raised, Policy{});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->level, 2);
  EXPECT_EQ(second->due, T("2016-08-13T20:25:00Z"));
  EXPECT_EQ(second->recipients,
            (std::vector<std::string>{"control/E09000023/", "control/E09000011/"}));

  EXPECT_FALSE(NextEscalation(a, "MP-DS0077", 2, raised, Policy{}));
}

TEST(EscalationTest, HighAndMediumUseTheirOwnSla) {
  const TimePoint raised = T("2016-08-13T20:00:00Z");
  Alert a = Critical();
  a.severity = Severity::kHigh;
  EXPECT_EQ(NextEscalation(a, "S", 0, raised, Policy{})->due, T("2016-08-13T20:15:00Z"));
  EXPECT_EQ(NextEscalation(a, "S", 1, raised, Policy{})->due, T("2016-08-13T20:30:00Z"));
  a.severity = Severity::kMedium;
  EXPECT_EQ(NextEscalation(a, "S", 0, raised, Policy{})->due, T("2016-08-13T21:00:00Z"));
  EXPECT_EQ(NextEscalation(a, "S", 1, raised, Policy{})->due, T("2016-08-13T22:00:00Z"));
}

TEST(EscalationTest, InfoAndUnacknowledgedNeverEscalate) {
  Alert info = Critical();
  info.severity = Severity::kInfo;
  EXPECT_FALSE(NextEscalation(info, "MP-DS0077", 0, T("2016-08-13T20:00:00Z"), Policy{}));
  Alert unack = MakeUnacknowledgedAlert(Critical(), 1, {"officer/MP-DS0077/"});
  EXPECT_FALSE(NextEscalation(unack, "MP-DS0077", 0, T("2016-08-13T20:00:00Z"), Policy{}));
}

TEST(EscalationTest, LevelTwoUsesOwningControlOrFallbackWhenAlertNamesNoRoom) {
  const TimePoint raised = T("2016-08-13T20:00:00Z");
  Alert a = Critical();
  a.severity = Severity::kMedium;
  a.recipients = {"officer/MP-PC1234/"};
  a.extra["owning_control"] = "E09000023";
  EXPECT_EQ(NextEscalation(a, "S", 1, raised, Policy{})->recipients,
            std::vector<std::string>{"control/E09000023/"});
  a.extra.erase("owning_control");
  EXPECT_EQ(NextEscalation(a, "S", 1, raised, Policy{}, {"E09000001", "E09000002"})->recipients,
            (std::vector<std::string>{"control/E09000001/", "control/E09000002/"}));
}

TEST(EscalationTest, NoSupervisorGoesStraightToControlRoomsAtTheFirstDeadline) {
  auto step = NextEscalation(Critical(), "", 0, T("2016-08-13T20:00:00Z"), Policy{});
  ASSERT_TRUE(step);
  EXPECT_EQ(step->level, 2);
  EXPECT_EQ(step->due, T("2016-08-13T20:05:00Z"));
  EXPECT_EQ(step->recipients,
            (std::vector<std::string>{"control/E09000023/", "control/E09000011/"}));
}

TEST(EscalationTest, UnacknowledgedAlertCarriesWhatItIsAbout) {
  Alert u = MakeUnacknowledgedAlert(Critical(), 2, {"control/E09000023/", "control/E09000023/"});
  EXPECT_EQ(u.kind, AlertKind::kUnacknowledged);
  EXPECT_EQ(u.severity, Severity::kCritical);
  EXPECT_EQ(u.extra.at("about_alert_id").as_string(), "01J-ABC");
  EXPECT_EQ(u.extra.at("level").as_int64(), 2);
  EXPECT_EQ(u.recipients, std::vector<std::string>{"control/E09000023/"});
  EXPECT_EQ(u.person_id, "PNC-79/123456X");
  EXPECT_EQ(u.instrument_id, "BAIL/LW/2016/0412");
  EXPECT_EQ(u.event_time, T("2016-08-13T20:14:05Z"));
  EXPECT_NE(u.summary.find("01J-ABC"), std::string::npos);
  auto json = AlertToJson(u);
  EXPECT_EQ(json.at("about_alert_id").as_string(), "01J-ABC");
  EXPECT_EQ(json.at("level").as_int64(), 2);
}

TEST(EscalationTest, ResolutionOutcomes) {
  for (const char* ok : {"arrested", "warned", "attended_no_breach", "false_alarm", "in_custody",
                         "referred_to_court"}) {
    EXPECT_TRUE(ValidateResolution(ok, "").ok()) << ok;
  }
  EXPECT_TRUE(ValidateResolution("no_action", "subject had left before attendance").ok());
  Status missing = ValidateResolution("no_action", "  \n");
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), ErrorCode::kBadInput);
  EXPECT_EQ(missing.field(), "note");
  Status unknown = ValidateResolution("closed", "x");
  EXPECT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.field(), "outcome");
  EXPECT_FALSE(ValidateResolution("", "").ok());
}

}  // namespace
}  // namespace bw
