// Alert kinds and the section 6.2 payload: every kind has one wire name that
// reads back as itself, and a stored payload reads back into the Alert it came from.
#include "handlers/alerts/alert.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "handlers/base/time_util.h"

namespace bw {
namespace {

constexpr AlertKind kEveryKind[] = {
    AlertKind::kExclusionZoneBreach, AlertKind::kZoneCrossed,    AlertKind::kAddressBreach,
    AlertKind::kNoContactBreach,     AlertKind::kCurfewBreach,   AlertKind::kTagTamper,
    AlertKind::kTagBattery,          AlertKind::kTagSignalLost,  AlertKind::kHomeUnit,
    AlertKind::kUnmatchedTagEvent,   AlertKind::kCheckResult,    AlertKind::kBreachArrest,
    AlertKind::kSubjectArrested,     AlertKind::kCustodyRelease, AlertKind::kRepeatBreach,
    AlertKind::kInstrumentExpiring,  AlertKind::kUnacknowledged, AlertKind::kFeedGap,
    AlertKind::kFeedSilent,          AlertKind::kFeedRestored,   AlertKind::kFeedRejected,
    AlertKind::kProximityBreach,     AlertKind::kProximityWarning, AlertKind::kVictimPanic,
    AlertKind::kStoreFailing,        AlertKind::kStoreRecovered,
};

TEST(AlertKindTest, EveryKindHasItsOwnNameThatReadsBack) {
  std::set<std::string> names;
  for (AlertKind kind : kEveryKind) {
    const std::string name = AlertKindName(kind);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name << " named twice";
    EXPECT_EQ(ParseAlertKind(name), kind) << name;
  }
  // The 21 kinds of spec section 6.2 and the 3 of section 9.4.
  EXPECT_EQ(names.size(), 26u);
  EXPECT_TRUE(names.contains("exclusion_zone_breach"));
  EXPECT_TRUE(names.contains("feed_rejected"));
}

TEST(AlertKindTest, UnknownNamesAreNotKinds) {
  EXPECT_FALSE(ParseAlertKind("proximity_alarm").has_value());
  EXPECT_FALSE(ParseAlertKind("").has_value());
  EXPECT_FALSE(ParseAlertKind("Exclusion_Zone_Breach").has_value());
}

TEST(AlertJsonTest, PayloadReadsBackIntoTheSameAlert) {
  Alert a;
  a.alert_id = "01J-ABC";
  a.seq = 4711;
  a.kind = AlertKind::kTagSignalLost;
  a.severity = Severity::kInfo;
  a.raised_at = *ParseRfc3339("2016-08-13T20:15:00Z");
  a.event_time = *ParseRfc3339("2016-08-13T20:14:05Z");
  a.in_custody = true;
  a.person_id = "PNC-79/123456X";
  a.instrument_id = "BAIL/LW/2016/0412";
  a.oic = "MP-PC1234";
  a.recipients = {"control/E09000023/"};
  a.summary = "Signal lost on tag TAG-0042";
  a.extra["original_severity"] = "high";
  const boost::json::object payload = AlertToJson(a);
  EXPECT_EQ(payload.at("kind").as_string(), "tag_signal_lost");

  auto back = AlertFromJson(payload);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, AlertKind::kTagSignalLost);
  EXPECT_EQ(back->severity, Severity::kInfo);
  EXPECT_EQ(back->extra.at("original_severity").as_string(), "high");
  EXPECT_EQ(AlertToJson(*back), payload);
}

TEST(AlertJsonTest, PayloadOfAnUnknownKindIsRefused) {
  boost::json::object payload = AlertToJson(Alert{});
  payload["kind"] = "proximity_alarm";
  auto back = AlertFromJson(payload);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), ErrorCode::kBadInput);
  EXPECT_EQ(back.status().field(), "kind");
}

}  // namespace
}  // namespace bw
