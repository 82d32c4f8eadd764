// The proximity condition (protocol 9.3) through the Engine: the subject's tag
// fixes and the protected person's device fixes, in both orders of arrival;
// stale fixes; late fixes judged at their own time; accuracy in the subject's
// favour at the edge; episodes (one alert each, closed after exit_debounce_s);
// custody; the officer and control copies (her position in the control copy
// only); unmatched device data; breach counting.  Injected clock.
#include <gtest/gtest.h>

#include <sstream>

#include "handlers/alerts/protected_location.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr char kSubject[] = "PNC-79/123456X";
constexpr char kProtected[] = "PNC-72/654321Y";
constexpr double kMetresPerDegreeLat = 111195;

// She is in Lewisham; with her there, her area's control room is E09000023.
// The case is owned by Greenwich (E09000011), so that the two differ.
const GeoPoint kHer(kLewishamLon, kLewishamLat);

GeoPoint NorthOfHer(double metres) {
  return GeoPoint(kLewishamLon, kLewishamLat + metres / kMetresPerDegreeLat);
}

std::string Grant(const std::string& conditions =
                      R"([{"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
                           "radius_m":500,"warning_m":1000}])") {
  return R"({"type":"instrument.granted","id":"g-1","source":"court","time":"2016-08-01T10:00:00Z",
      "instrument":{"instrument_id":"DVPO/GR/2016/0007","kind":"dvpo","subject":"PNC-79/123456X",
      "protected_persons":["PNC-72/654321Y"],"case_ref":"01GR/777/16","oic":"MP-PC1234",
      "supervisor":"MP-DS0077","owning_control":"E09000011","safety_contacts":["IDVA-LW-03"],
      "valid_from":"2016-08-01T10:00:00Z","valid_until":null,"conditions":)" +
         conditions + "}}";
}

std::string FixEvent(const char* type, const char* person, const char* device,
                     const std::string& time, const GeoPoint& at, double accuracy_m) {
  static int n = 0;
  std::ostringstream o;
  o.precision(15);
  o << R"({"type":")" << type << R"(","id":"f-)" << ++n << R"(","source":"em-provider",)"
    << R"("time":")" << time << R"(","person_id":")" << person << R"(","device_id":")" << device
    << R"(","at":[)" << at.x() << "," << at.y() << R"(],"accuracy_m":)" << accuracy_m << "}";
  return o.str();
}

std::string SubjectFix(const std::string& time, const GeoPoint& at, double accuracy_m = 10) {
  return FixEvent("tag.position", kSubject, "TAG-0042", time, at, accuracy_m);
}
std::string HerFix(const std::string& time, const GeoPoint& at = kHer, double accuracy_m = 20) {
  return FixEvent("victim.position", kProtected, "APP-7", time, at, accuracy_m);
}

class ProximityHandlerTest : public EngineFixture {
 protected:
  ProximityHandlerTest() : EngineFixture("2016-08-13T21:00:00Z") { Handle(Grant()); }

  static std::vector<Alert> Of(const Outcome& out, AlertKind kind) {
    std::vector<Alert> v;
    for (const auto& a : out.alerts) {
      if (a.kind == kind) v.push_back(a);
    }
    return v;
  }
  static const Alert* Copy(const std::vector<Alert>& alerts, const char* copy) {
    for (const auto& a : alerts) {
      if (auto it = a.extra.find(kAlertCopyKey);
          it != a.extra.end() && it->value().as_string() == copy) {
        return &a;
      }
    }
    return nullptr;
  }
  void PutInCustody(TimePoint from, std::optional<TimePoint> until) {
    Outcome o;
    o.mutations.push_back([from, until](EngineState& s) {
      s.custody[kSubject].push_back(CustodyInterval{from, until});
    });
    engine_.Apply(o);
  }
  size_t BreachesCounted() const {
    auto it = engine_.state().breaches.find(kSubject);
    return it == engine_.state().breaches.end() ? 0 : it->second.size();
  }
};

TEST_F(ProximityHandlerTest, SubjectWalkingTowardsHerRaisesOneWarningThenOneBreach) {
  EXPECT_TRUE(Handle(HerFix("2016-08-13T20:50:00Z")).alerts.empty());
  EXPECT_TRUE(Handle(SubjectFix("2016-08-13T20:50:10Z", NorthOfHer(1500))).alerts.empty());

  Outcome warned = Handle(SubjectFix("2016-08-13T20:50:40Z", NorthOfHer(800)));
  ASSERT_EQ(warned.alerts.size(), 1u);
  const Alert& w = warned.alerts[0];
  EXPECT_EQ(w.kind, AlertKind::kProximityWarning);
  EXPECT_EQ(w.severity, Severity::kHigh);
  EXPECT_EQ(w.person_id, kSubject);
  EXPECT_EQ(w.condition_id, "c7");
  // To the owning control room only.
  EXPECT_EQ(w.recipients, std::vector<std::string>{"control/E09000011/"});
  EXPECT_EQ(w.extra.at("distance_m").as_int64(), 800);

  // Nearer but still only within the warning distance: the same episode.
  EXPECT_TRUE(Handle(SubjectFix("2016-08-13T20:51:00Z", NorthOfHer(600))).alerts.empty());

  Outcome breached = Handle(SubjectFix("2016-08-13T20:51:20Z", NorthOfHer(300)));
  auto breaches = Of(breached, AlertKind::kProximityBreach);
  ASSERT_EQ(breaches.size(), 2u);  // the officer copy and the control copy
  EXPECT_TRUE(Of(breached, AlertKind::kProximityWarning).empty());
  for (const auto& a : breaches) EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(BreachesCounted(), 1u);

  // Staying close, then backing off to the warning distance: nothing new.
  EXPECT_TRUE(Handle(SubjectFix("2016-08-13T20:51:50Z", NorthOfHer(200))).alerts.empty());
  EXPECT_TRUE(Handle(SubjectFix("2016-08-13T20:52:20Z", NorthOfHer(700))).alerts.empty());
  EXPECT_EQ(BreachesCounted(), 1u);
}

TEST_F(ProximityHandlerTest, BreachGoesToOfficersAndControlRoomsInTwoCopies) {
  Handle(HerFix("2016-08-13T20:50:00Z"));
  Outcome out = Handle(SubjectFix("2016-08-13T20:50:30Z", NorthOfHer(250)));
  auto breaches = Of(out, AlertKind::kProximityBreach);
  const Alert* officer = Copy(breaches, "officer");
  const Alert* control = Copy(breaches, "control");
  ASSERT_NE(officer, nullptr);
  ASSERT_NE(control, nullptr);
  // The OIC and the safety contacts; the owning control room and that of her area.
  EXPECT_EQ(officer->recipients,
            (std::vector<std::string>{"officer/MP-PC1234/", "officer/IDVA-LW-03/"}));
  EXPECT_EQ(control->recipients,
            (std::vector<std::string>{"control/E09000023/", "control/E09000011/"}));
  // Both carry the distance and the subject's fix; only the control copy her position.
  for (const Alert* a : {officer, control}) {
    EXPECT_EQ(a->extra.at("distance_m").as_int64(), 250);
    EXPECT_EQ(a->extra.at("protected_person_id").as_string(), kProtected);
    ASSERT_TRUE(a->location_at);
    EXPECT_NEAR(a->location_at->y(), NorthOfHer(250).y(), 1e-9);
  }
  EXPECT_EQ(ProtectedPersonLocated(*officer), "");
  EXPECT_EQ(ProtectedPersonLocated(*control), kProtected);
  const auto& loc = control->extra.at(kProtectedPersonLocationKey).as_object();
  EXPECT_DOUBLE_EQ(loc.at("at").as_array()[1].as_double(), kLewishamLat);
  EXPECT_EQ(loc.at("areas").as_array().front().as_string(), "E09000023");
}

TEST_F(ProximityHandlerTest, JudgedOnHerFixTheAlertLocationIsStillTheSubjects) {
  Handle(SubjectFix("2016-08-13T20:50:00Z", NorthOfHer(250)));
  Outcome out = Handle(HerFix("2016-08-13T20:50:30Z"));
  auto breaches = Of(out, AlertKind::kProximityBreach);
  ASSERT_EQ(breaches.size(), 2u);
  for (const auto& a : breaches) {
    ASSERT_TRUE(a.location_at);
    EXPECT_NEAR(a.location_at->y(), NorthOfHer(250).y(), 1e-9) << "never her position";
    EXPECT_EQ(a.extra.at("judged_on").as_string(), "protected_person_fix");
    // Her coordinates appear in no summary.
    EXPECT_EQ(a.summary.find("51.456"), std::string::npos) << a.summary;
  }
}

TEST_F(ProximityHandlerTest, EitherOrderOfArrivalRaisesTheSameBreach) {
  // Subject first, then her device.
  Handle(SubjectFix("2016-08-13T20:50:00Z", NorthOfHer(300)));
  EXPECT_EQ(Of(Handle(HerFix("2016-08-13T20:50:20Z")), AlertKind::kProximityBreach).size(), 2u);

  // Her device first, then the subject (a new episode, more than exit_debounce_s later).
  Handle(HerFix("2016-08-13T20:58:00Z"));
  EXPECT_EQ(
      Of(Handle(SubjectFix("2016-08-13T20:58:30Z", NorthOfHer(300))), AlertKind::kProximityBreach)
          .size(),
      2u);
}

TEST_F(ProximityHandlerTest, FixOlderOrNewerThanMaxAgeIsNotCompared) {
  // proximity_max_age_s = 120 by default.
  Handle(HerFix("2016-08-13T20:50:00Z"));
  EXPECT_TRUE(Handle(SubjectFix("2016-08-13T20:52:01Z", NorthOfHer(100))).alerts.empty());
  // Her next fix is 121 s after his: still too far apart in time.
  EXPECT_TRUE(Handle(HerFix("2016-08-13T20:54:02Z")).alerts.empty());
  // 120 s apart (newer than his) counts.
  EXPECT_EQ(Of(Handle(HerFix("2016-08-13T20:54:01Z")), AlertKind::kProximityBreach).size(), 2u);
}

TEST_F(ProximityHandlerTest, LateFixIsJudgedAgainstTheOtherFixOfItsOwnTime) {
  // She was at home at 20:40, then 3 km away at 20:55.
  Handle(HerFix("2016-08-13T20:40:00Z"));
  Handle(HerFix("2016-08-13T20:55:00Z", NorthOfHer(3000)));
  // His fix of 20:40:30, near her home, arrives late (the clock says 21:00).
  Outcome out = Handle(SubjectFix("2016-08-13T20:40:30Z", NorthOfHer(200)));
  auto breaches = Of(out, AlertKind::kProximityBreach);
  ASSERT_EQ(breaches.size(), 2u);
  EXPECT_TRUE(breaches[0].late);
  EXPECT_EQ(breaches[0].event_time, T("2016-08-13T20:40:30Z"));
  EXPECT_EQ(breaches[0].extra.at("distance_m").as_int64(), 200);
  // A late fix of hers, far from where he was then, raises nothing.
  Handle(SubjectFix("2016-08-13T20:56:00Z", NorthOfHer(-3000)));
  EXPECT_TRUE(Handle(HerFix("2016-08-13T20:56:10Z", NorthOfHer(2900))).alerts.empty());
}

TEST_F(ProximityHandlerTest, AccuracyIsTakenInTheSubjectsFavourAtTheEdge) {
  Handle(HerFix("2016-08-13T20:50:00Z", kHer, 20));
  const GeoPoint at = NorthOfHer(460);
  const double d = GeodesicDistanceMeters(at, kHer);
  // d + 20 + accuracy just over 500: within the warning distance only.
  Outcome over = Handle(SubjectFix("2016-08-13T20:50:10Z", at, 500 - 20 - d + 0.5));
  EXPECT_TRUE(Of(over, AlertKind::kProximityBreach).empty());
  EXPECT_EQ(Of(over, AlertKind::kProximityWarning).size(), 1u);
  // Just under 500: certainly within the radius.
  Outcome under = Handle(SubjectFix("2016-08-13T20:50:20Z", at, 500 - 20 - d - 0.5));
  auto breaches = Of(under, AlertKind::kProximityBreach);
  ASSERT_EQ(breaches.size(), 2u);
  EXPECT_NEAR(breaches[0].extra.at("separation_in_subjects_favour_m").as_int64(), 500, 1);
}

TEST_F(ProximityHandlerTest, EpisodeClosesAfterExitDebounceWithoutABreachingFix) {
  // exit_debounce_s = 300 by default.
  Handle(HerFix("2016-08-13T20:40:00Z"));
  EXPECT_EQ(Of(Handle(SubjectFix("2016-08-13T20:40:10Z", NorthOfHer(200))),
               AlertKind::kProximityBreach)
                .size(),
            2u);
  Handle(HerFix("2016-08-13T20:42:00Z"));  // still breaching: extends the episode to 20:42
  // Far away for a while.
  Handle(SubjectFix("2016-08-13T20:43:00Z", NorthOfHer(5000)));
  // 20:46:59 is within 300 s of the last breaching observation: the same episode.
  Handle(HerFix("2016-08-13T20:46:50Z"));
  EXPECT_TRUE(
      Of(Handle(SubjectFix("2016-08-13T20:46:59Z", NorthOfHer(200))), AlertKind::kProximityBreach)
          .empty());
  // 20:53 is more than 300 s after 20:46:59: a new episode, a new alert, a second breach.
  Handle(HerFix("2016-08-13T20:52:50Z"));
  EXPECT_EQ(Of(Handle(SubjectFix("2016-08-13T20:53:00Z", NorthOfHer(200))),
               AlertKind::kProximityBreach)
                .size(),
            2u);
  EXPECT_EQ(BreachesCounted(), 2u);
}

TEST_F(ProximityHandlerTest, InCustodyOnlyTheControlCopyIsRecordedAsInfo) {
  PutInCustody(T("2016-08-13T20:30:00Z"), std::nullopt);
  Handle(HerFix("2016-08-13T20:50:00Z"));
  Outcome out = Handle(SubjectFix("2016-08-13T20:50:20Z", NorthOfHer(100)));
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kProximityBreach);
  EXPECT_EQ(a.severity, Severity::kInfo);
  EXPECT_TRUE(a.in_custody);
  EXPECT_EQ(a.extra.at("breach_severity").as_string(), "critical");
  EXPECT_EQ(a.extra.at(kAlertCopyKey).as_string(), "control");
  EXPECT_EQ(a.recipients, std::vector<std::string>{"control/E09000011/"});
  EXPECT_EQ(BreachesCounted(), 0u);
}

TEST_F(ProximityHandlerTest, ReleasedFromCustodyMidEpisodeTheOfficersArePaged) {
  PutInCustody(T("2016-08-13T20:30:00Z"), T("2016-08-13T20:51:00Z"));
  Handle(HerFix("2016-08-13T20:50:00Z"));
  EXPECT_EQ(Handle(SubjectFix("2016-08-13T20:50:20Z", NorthOfHer(100))).alerts.size(), 1u);
  // Her next fix, after his release, is compared with his last fix (in custody): the
  // episode seen in custody does not continue out of it.
  Outcome out = Handle(HerFix("2016-08-13T20:51:10Z"));
  auto breaches = Of(out, AlertKind::kProximityBreach);
  ASSERT_EQ(breaches.size(), 2u);
  EXPECT_NE(Copy(breaches, "officer"), nullptr);
  EXPECT_FALSE(breaches[0].in_custody);
}

TEST_F(ProximityHandlerTest, WarningInCustodyIsInfoToTheOwningControlRoom) {
  PutInCustody(T("2016-08-13T20:30:00Z"), std::nullopt);
  Handle(HerFix("2016-08-13T20:50:00Z"));
  Outcome out = Handle(SubjectFix("2016-08-13T20:50:20Z", NorthOfHer(800)));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kProximityWarning);
  EXPECT_EQ(out.alerts[0].severity, Severity::kInfo);
  EXPECT_EQ(out.alerts[0].recipients, std::vector<std::string>{"control/E09000011/"});
}

TEST_F(ProximityHandlerTest, DevicePositionOfAPersonNobodyProtectsIsUnmatched) {
  Outcome out = Handle(
      FixEvent("victim.position", "PNC-11/111111A", "APP-9", "2016-08-13T20:50:00Z", kHer, 10));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_EQ(out.alerts[0].person_id, "PNC-11/111111A");
  for (const auto& r : out.alerts[0].recipients) EXPECT_TRUE(r.starts_with("control/")) << r;
  EXPECT_TRUE(engine_.state().protected_person_fixes.empty());
}

TEST_F(ProximityHandlerTest, DevicePositionBeforeTheOrderIsInForceIsUnmatched) {
  Outcome out = Handle(HerFix("2016-08-01T09:00:00Z"));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
}

TEST_F(ProximityHandlerTest, FixesOfASubjectWithoutAProximityConditionAreNotKept) {
  Handle(R"({"type":"instrument.granted","id":"g-2","source":"court","time":"2016-08-01T10:00:00Z",
      "instrument":{"instrument_id":"BAIL/LW/2016/0001","kind":"police_bail","subject":"PNC-55/555555E",
      "oic":"MP-PC0001","owning_control":"E09000023","valid_from":"2016-08-01T10:00:00Z",
      "valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000011"}]}})");
  Handle(FixEvent("tag.position", "PNC-55/555555E", "TAG-1", "2016-08-13T20:50:00Z", kHer, 5));
  EXPECT_FALSE(engine_.state().proximity_subject_fixes.contains("PNC-55/555555E"));
  Handle(SubjectFix("2016-08-13T20:50:00Z", NorthOfHer(5000)));
  EXPECT_TRUE(engine_.state().proximity_subject_fixes.contains(kSubject));
}

TEST_F(ProximityHandlerTest, ProximityBreachCountsTowardsRepeatBreaches) {
  // repeat_breach_threshold = 3: three proximity episodes raise repeat_breach, whose
  // location (it goes to the supervisor) is the subject's, never hers.
  Outcome third;
  for (const char* hm : {"20:00", "20:10", "20:20"}) {
    const std::string t = std::string("2016-08-13T") + hm;
    Handle(HerFix(t + ":00Z"));
    third = Handle(SubjectFix(t + ":30Z", NorthOfHer(200)));
  }
  auto repeats = Of(third, AlertKind::kRepeatBreach);
  ASSERT_EQ(repeats.size(), 1u);
  ASSERT_TRUE(repeats[0].location_at);
  EXPECT_NEAR(repeats[0].location_at->y(), NorthOfHer(200).y(), 1e-9);
}

TEST(FixTrackTest, NearestIsTheClosestInTimeWithinMaxAge) {
  FixTrack track;
  const TimePoint t0 = T("2016-08-13T20:00:00Z");
  using std::chrono::seconds;
  track.Add({t0 + seconds(100), kHer, 1});
  track.Add({t0, kHer, 2});
  track.Add({t0 + seconds(50), kHer, 3});
  EXPECT_EQ(track.fixes.front().time, t0);  // ordered by event time
  EXPECT_DOUBLE_EQ(track.Nearest(t0 + seconds(60), seconds(120))->accuracy_m, 3);
  EXPECT_DOUBLE_EQ(track.Nearest(t0 + seconds(90), seconds(120))->accuracy_m, 1);
  EXPECT_DOUBLE_EQ(track.Nearest(t0 + seconds(25), seconds(120))->accuracy_m, 2);  // tie: older
  EXPECT_FALSE(track.Nearest(t0 + seconds(221), seconds(120)).has_value());
  EXPECT_TRUE(track.Nearest(t0 - seconds(120), seconds(120)).has_value());
  for (int i = 0; i < 100; ++i) track.Add({t0 + seconds(1000 + i), kHer, 0});
  EXPECT_EQ(track.fixes.size(), kMaxProximityFixes);
  EXPECT_EQ(track.Latest()->time, t0 + seconds(1099));
}

}  // namespace
}  // namespace bw
