// tag.position and tag.curfew_violation through the Engine: each condition kind,
// episodes (jitter pages once), zone crossings, out-of-order and late fixes,
// conditions in force at the fix's time, custody inhibition.  Injected clock.
#include <gtest/gtest.h>

#include <sstream>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

using std::chrono::seconds;

constexpr char kPerson[] = "PNC-79/123456X";
// West (Southwark) and east (Greenwich) of Lewisham on the same parallel: the
// straight segment between them crosses Lewisham.
constexpr double kWestLon = -0.065, kEastLon = 0.03, kAcrossLat = 51.45;

std::string Grant(const std::string& type, const std::string& time, const std::string& conditions,
                  const std::string& valid_until = "null",
                  const std::string& owning_control = "E09000023") {
  return R"({"type":")" + type + R"(","id":"g-)" + time +
         R"(","source":"custody-lewisham","time":")" + time +
         R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":")" +
         owning_control + R"(",
         "valid_from":"2016-05-10T14:00:00Z","valid_until":)" +
         valid_until + R"(,"conditions":)" + conditions + "}}";
}

std::string Fix(const std::string& time, double lon, double lat, double accuracy_m = 10) {
  std::ostringstream o;
  o.precision(15);
  o << R"({"type":"tag.position","id":"pos-)" << time << lon << R"(","source":"em-provider",)"
    << R"("time":")" << time << R"(","person_id":")" << kPerson
    << R"(","device_id":"TAG-0042","at":[)" << lon << "," << lat << R"(],"accuracy_m":)"
    << accuracy_m << "}";
  return o.str();
}

std::string CurfewViolation(const std::string& time, const std::string& state) {
  return R"({"type":"tag.curfew_violation","id":"cv-)" + time + state +
         R"(","source":"em-provider","time":")" + time + R"(","person_id":")" + kPerson +
         R"(","device_id":"HMU-0042","state":")" + state + R"("})";
}

const char* kLewishamExclusion =
    R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}])";
// Curfew at a Greenwich address, every night 19:00-07:00 London time, 5 min grace.
const char* kCurfew = R"([{"condition_id":"c4","kind":"curfew",
    "place":{"label":"bail address","at":[0.0640,51.4890],"radius_m":50},
    "windows":[{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"19:00","end":"07:00"}],
    "tz":"Europe/London","grace_min":5}])";

class PositionHandlerTest : public EngineFixture {
 protected:
  PositionHandlerTest() : EngineFixture("2016-08-13T21:00:00Z") {}

  // Alerts of `kind` in `out` (repeat_breach alerts from counting are ignored).
  static std::vector<Alert> Of(const Outcome& out, AlertKind kind) {
    std::vector<Alert> v;
    for (const auto& a : out.alerts) {
      if (a.kind == kind) v.push_back(a);
    }
    return v;
  }

  void PutInCustody(TimePoint from, std::optional<TimePoint> until) {
    Outcome o;
    o.mutations.push_back([from, until](EngineState& s) {
      s.custody[kPerson].push_back(CustodyInterval{from, until});
    });
    engine_.Apply(o);
  }

  size_t BreachesCounted() const {
    auto it = engine_.state().breaches.find(kPerson);
    return it == engine_.state().breaches.end() ? 0 : it->second.size();
  }
};

struct ConditionCase {
  const char* what;
  const char* conditions;
  double breach_lon, breach_lat;
  double clear_lon, clear_lat;
  const char* kind;  // "" = never breached by a position
  Severity severity;
  std::vector<std::string> recipients;
};

TEST_F(PositionHandlerTest, EachConditionKindBreachingAndNot) {
  const std::vector<ConditionCase> cases = {
      {"exclusion zone by GSS code",
       kLewishamExclusion,
       kLewishamLon,
       kLewishamLat,
       kGreenwichLon,
       kGreenwichLat,
       "exclusion_zone_breach",
       Severity::kCritical,
       {"officer/MP-PC1234/", "control/E09000023/"}},
      {"exclusion zone inline polygon",
       R"([{"condition_id":"z","kind":"exclusion_zone","zone":
          {"type":"Polygon","coordinates":[[[-0.03,51.45],[-0.02,51.45],[-0.02,51.46],
           [-0.03,51.46],[-0.03,51.45]]]}}])",
       -0.025,
       51.455,
       -0.0205,
       51.4472,
       "exclusion_zone_breach",
       Severity::kCritical,
       {"officer/MP-PC1234/", "control/E09000023/"}},
      {"not to attend (~56 m in, ~220 m out)",
       R"([{"condition_id":"home","kind":"not_to_attend",
          "place":{"label":"protected person's home","at":[-0.0205,51.4452],"radius_m":100}}])",
       -0.0205,
       51.4457,
       -0.0205,
       51.4472,
       "address_breach",
       Severity::kCritical,
       {"officer/MP-PC1234/", "control/E09000023/"}},
      // 20:30Z is 21:30 BST, inside the window: away from home breaches.
      {"curfew",
       kCurfew,
       kLewishamLon,
       kLewishamLat,
       0.0640,
       51.4893,
       "curfew_breach",
       Severity::kHigh,
       {"officer/MP-PC1234/"}},
      {"residence is not checked from fixes",
       R"([{"condition_id":"c5","kind":"residence",
          "place":{"label":"bail address","at":[0.0640,51.4890],"radius_m":50}}])",
       kLewishamLon,
       kLewishamLat,
       0.0640,
       51.4890,
       "",
       Severity::kInfo,
       {}},
      {"no_contact and other are not judged from fixes",
       R"([{"condition_id":"c3","kind":"no_contact","person":"PNC-72/654321Y"},
           {"condition_id":"c6","kind":"other","text":"engage with the drug service"}])",
       kLewishamLon,
       kLewishamLat,
       kGreenwichLon,
       kGreenwichLat,
       "",
       Severity::kInfo,
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    engine_.Reset();
    Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", c.conditions));
    Outcome clear = Handle(Fix("2016-08-13T20:20:00Z", c.clear_lon, c.clear_lat));
    EXPECT_TRUE(clear.alerts.empty()) << clear.alerts.front().summary;
    Outcome out = Handle(Fix("2016-08-13T20:30:00Z", c.breach_lon, c.breach_lat, 12));
    if (std::string(c.kind).empty()) {
      EXPECT_TRUE(out.alerts.empty());
      continue;
    }
    ASSERT_EQ(out.alerts.size(), 1u) << out.note;
    const Alert& a = out.alerts[0];
    EXPECT_STREQ(AlertKindName(a.kind), c.kind);
    EXPECT_EQ(a.severity, c.severity);
    EXPECT_EQ(a.recipients, c.recipients);
    EXPECT_EQ(a.person_id, kPerson);
    EXPECT_EQ(a.instrument_id, "BAIL/LW/2016/0412");
    EXPECT_EQ(a.case_ref, "01LW/12345/16");
    EXPECT_EQ(a.oic, "MP-PC1234");
    EXPECT_FALSE(a.in_custody);
    EXPECT_EQ(a.caused_by_source, "em-provider");
    ASSERT_TRUE(a.location_at.has_value());
    EXPECT_DOUBLE_EQ(a.location_at->x(), c.breach_lon);
    EXPECT_FALSE(a.location_areas.empty());
    // The fix's accuracy travels with the alert and is said in the summary.
    ASSERT_TRUE(a.extra.contains("accuracy_m"));
    EXPECT_DOUBLE_EQ(a.extra.at("accuracy_m").to_number<double>(), 12.0);
    EXPECT_NE(a.summary.find("±12 m"), std::string::npos) << a.summary;
    EXPECT_EQ(BreachesCounted(), 1u);
  }
}

TEST_F(PositionHandlerTest, ExclusionAlertSaysHowFarInside) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Outcome out = Handle(Fix("2016-08-13T20:59:30Z", kLewishamLon, kLewishamLat, 8));
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.condition_id, "c1");
  EXPECT_FALSE(a.late);
  const int64_t inside = a.extra.at("distance_inside_m").as_int64();
  EXPECT_GT(inside, 100);
  EXPECT_NE(a.summary.find(std::to_string(inside) + " m inside"), std::string::npos) << a.summary;
  EXPECT_NE(a.summary.find("Lewisham"), std::string::npos) << a.summary;
  EXPECT_EQ(a.summary.find("marginal"), std::string::npos) << a.summary;
}

TEST_F(PositionHandlerTest, FixWithinItsAccuracyOfTheBoundaryIsFlaggedMarginal) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Outcome out = Handle(Fix("2016-08-13T20:59:30Z", kLewishamLon, kLewishamLat, 50000));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].summary.find("marginal"), std::string::npos) << out.alerts[0].summary;
}

TEST_F(PositionHandlerTest, CurfewGraceAndWindowAtTheFixTime) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kCurfew));
  // 19:00 BST is 18:00Z; 5 min grace.
  EXPECT_TRUE(Handle(Fix("2016-08-13T12:00:00Z", kLewishamLon, kLewishamLat)).alerts.empty());
  EXPECT_TRUE(Handle(Fix("2016-08-13T18:04:59Z", kLewishamLon, kLewishamLat)).alerts.empty());
  Outcome out = Handle(Fix("2016-08-13T18:05:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kCurfewBreach);
  EXPECT_EQ(out.alerts[0].extra.at("window_start").as_string(), "2016-08-13T18:00:00Z");
  EXPECT_EQ(out.alerts[0].extra.at("window_end").as_string(), "2016-08-14T06:00:00Z");
  EXPECT_NE(out.alerts[0].summary.find("daily 19:00-07:00 Europe/London"), std::string::npos)
      << out.alerts[0].summary;
}

TEST_F(PositionHandlerTest, BoundaryJitterPagesOnce) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  const TimePoint t0 = T("2016-08-13T20:30:00Z");
  size_t alerts = 0;
  for (int i = 0; i < 8; ++i) {
    const bool in = i % 2 == 0;
    Outcome out = Handle(Fix(FormatRfc3339(t0 + seconds(30 * i)), in ? kLewishamLon : kWestLon,
                             in ? kLewishamLat : kAcrossLat));
    alerts += out.alerts.size();
  }
  EXPECT_EQ(alerts, 1u);
  EXPECT_EQ(BreachesCounted(), 1u);
  const auto& ep = engine_.state().episodes.at({kPerson, "BAIL/LW/2016/0412", "c1"});
  EXPECT_EQ(ep.opened_at, t0);
  EXPECT_EQ(ep.last_breach_at, t0 + seconds(180));
}

TEST_F(PositionHandlerTest, NewEpisodeAfterExitDebounce) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  const TimePoint t0 = T("2016-08-13T20:00:00Z");
  auto in = [&](int s) {
    return Handle(Fix(FormatRfc3339(t0 + seconds(s)), kLewishamLon, kLewishamLat));
  };
  EXPECT_EQ(in(0).alerts.size(), 1u);
  Handle(Fix(FormatRfc3339(t0 + seconds(60)), kWestLon, kAcrossLat));  // left the zone
  EXPECT_EQ(in(300).alerts.size(), 0u);  // exactly exit_debounce_s after: same episode
  EXPECT_EQ(in(601).alerts.size(), 1u);  // 301 s without a breaching fix: a new episode
  EXPECT_EQ(BreachesCounted(), 2u);
}

TEST_F(PositionHandlerTest, OutOfOrderFixJoinsItsEpisode) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  const TimePoint t0 = T("2016-08-13T20:30:00Z");
  EXPECT_EQ(Handle(Fix(FormatRfc3339(t0), kLewishamLon, kLewishamLat)).alerts.size(), 1u);
  // Delivered late, dated 2 min before the episode opened: the same episode.
  EXPECT_TRUE(
      Handle(Fix(FormatRfc3339(t0 - seconds(120)), kLewishamLon, kLewishamLat)).alerts.empty());
  EXPECT_EQ(engine_.state().episodes.at({kPerson, "BAIL/LW/2016/0412", "c1"}).opened_at,
            t0 - seconds(120));
}

TEST_F(PositionHandlerTest, JumpOverAZoneBetweenCloseFixesIsAZoneCrossing) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:30:00Z", kWestLon, kAcrossLat)).alerts.empty());
  Outcome out = Handle(Fix("2016-08-13T20:31:00Z", kEastLon, kAcrossLat, 15));
  ASSERT_EQ(out.alerts.size(), 1u) << out.note;
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kZoneCrossed);
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.condition_id, "c1");
  EXPECT_EQ(a.recipients, std::vector<std::string>{"officer/MP-PC1234/"});
  EXPECT_EQ(a.extra.at("gap_s").as_int64(), 60);
  EXPECT_EQ(a.extra.at("zone").as_string(), "E09000023");
  EXPECT_EQ(a.extra.at("previous_fix").at("time").as_string(), "2016-08-13T20:30:00Z");
  EXPECT_DOUBLE_EQ(a.extra.at("accuracy_m").to_number<double>(), 15.0);
  EXPECT_EQ(a.location_areas, std::vector<std::string>{"E09000011"});
  // Going back across a minute later is the same crossing episode...
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:32:00Z", kWestLon, kAcrossLat)).alerts.empty());
  // ...and a fix inside the zone is a breach of its own.
  EXPECT_EQ(Of(Handle(Fix("2016-08-13T20:33:00Z", kLewishamLon, kLewishamLat)),
               AlertKind::kExclusionZoneBreach)
                .size(),
            1u);
}

TEST_F(PositionHandlerTest, CrossingDuringAnOpenPresenceEpisodeIsThatPresence) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  EXPECT_EQ(Handle(Fix("2016-08-13T20:30:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:30:30Z", kWestLon, kAcrossLat)).alerts.empty());
  // Both outside, the segment crosses the zone: within the presence episode, no new page.
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:31:00Z", kEastLon, kAcrossLat)).alerts.empty());
  EXPECT_EQ(engine_.state().episodes.at({kPerson, "BAIL/LW/2016/0412", "c1"}).last_breach_at,
            T("2016-08-13T20:31:00Z"));
  EXPECT_EQ(BreachesCounted(), 1u);
}

TEST_F(PositionHandlerTest, FixesTooFarApartMakeNoCrossing) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Handle(Fix("2016-08-13T20:30:00Z", kWestLon, kAcrossLat));
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:50:00Z", kEastLon, kAcrossLat)).alerts.empty());
  // At exactly crossing_max_gap_s (600 s) it still counts.
  EXPECT_EQ(Handle(Fix("2016-08-13T21:00:00Z", kWestLon, kAcrossLat)).alerts.size(), 1u);
}

TEST_F(PositionHandlerTest, OutOfOrderFixNeitherCrossesNorMovesTheLastFixBack) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Handle(Fix("2016-08-13T20:31:00Z", kWestLon, kAcrossLat));
  // Older than the last fix, on the other side: no crossing is made up.
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:30:00Z", kEastLon, kAcrossLat)).alerts.empty());
  const LastFix& last = engine_.state().last_fix.at(kPerson);
  EXPECT_EQ(last.time, T("2016-08-13T20:31:00Z"));
  EXPECT_DOUBLE_EQ(last.at.x(), kWestLon);
  // The next fix in order crosses from the real last fix.
  EXPECT_EQ(
      Of(Handle(Fix("2016-08-13T20:32:00Z", kEastLon, kAcrossLat)), AlertKind::kZoneCrossed).size(),
      1u);
}

TEST_F(PositionHandlerTest, LateFixIsStillAlertedAndMarkedLate) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  Outcome out = Handle(Fix("2016-08-13T20:50:00Z", kLewishamLon, kLewishamLat));  // 10 min old
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_TRUE(out.alerts[0].late);
  EXPECT_EQ(out.alerts[0].event_time, T("2016-08-13T20:50:00Z"));
}

TEST_F(PositionHandlerTest, ConditionsInForceAtTheFixTime) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion,
               R"("2016-09-01T00:00:00Z")"));
  // From 2016-08-10 the exclusion is replaced by a curfew.
  Handle(Grant("instrument.varied", "2016-08-10T10:00:00Z", kCurfew, R"("2016-09-01T00:00:00Z")"));
  clock_.Set(T("2016-09-02T12:00:00Z"));
  // Midday, in Lewisham: before the variation a breach, after it nothing.
  Outcome before = Handle(Fix("2016-08-09T12:00:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(before.alerts.size(), 1u);
  EXPECT_EQ(before.alerts[0].kind, AlertKind::kExclusionZoneBreach);
  EXPECT_TRUE(before.alerts[0].late);
  EXPECT_TRUE(Handle(Fix("2016-08-11T12:00:00Z", kLewishamLon, kLewishamLat)).alerts.empty());
  // At night after the variation: the curfew applies.
  Outcome night = Handle(Fix("2016-08-11T22:00:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(night.alerts.size(), 1u);
  EXPECT_EQ(night.alerts[0].kind, AlertKind::kCurfewBreach);
  // After valid_until nothing is in force: the fix is monitoring data without
  // conditions, which the control room hears about.
  Outcome expired = Handle(Fix("2016-09-01T22:00:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(expired.alerts.size(), 1u);
  EXPECT_EQ(expired.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_NE(expired.note.find("no instrument in force"), std::string::npos) << expired.note;
}

TEST_F(PositionHandlerTest, PersonWithoutInstrumentRaisesOneUnmatchedTagEventPerRun) {
  Outcome out = Handle(Fix("2016-08-13T20:30:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_NE(out.note.find("no instrument in force"), std::string::npos) << out.note;
  EXPECT_EQ(engine_.state().last_fix.at(kPerson).time, T("2016-08-13T20:30:00Z"));
  // The next fix a minute later belongs to the same run: no second alert.
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:31:00Z", kLewishamLon, kLewishamLat)).alerts.empty());
  // After a quiet spell longer than exit_debounce_s, a new run alerts again.
  EXPECT_EQ(Handle(Fix("2016-08-13T20:40:00Z", kLewishamLon, kLewishamLat)).alerts.size(), 1u);
}

// Regression (issue 14's tail profile): the first fix of each of 100,000 persons made the
// last-fix table outgrow its capacity, and moving every entry into a larger one stopped the loop
// for 40-60 ms mid-run.  The table now grows with the persons granted, so no fix grows it.
TEST_F(PositionHandlerTest, FirstFixesOfGrantedPersonsNeverGrowTheLastFixTable) {
  constexpr int kPersons = 3000;
  auto person = [](int i) { return "PNC-LF/" + std::to_string(i); };
  for (int i = 0; i < kPersons; ++i) {
    std::string grant = Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion);
    auto replace = [&grant](const std::string& from, const std::string& to) {
      grant.replace(grant.find(from), from.size(), to);
    };
    replace("g-2016", "g" + std::to_string(i) + "-2016");
    replace("BAIL/LW/2016/0412", "BAIL/LF/" + std::to_string(i));
    replace("PNC-79/123456X", person(i));
    Handle(grant);
  }
  const size_t capacity = engine_.state().last_fix.max_load();
  ASSERT_GE(capacity, static_cast<size_t>(kPersons));
  for (int i = 0; i < kPersons; ++i) {
    std::string fix = Fix("2016-08-13T20:30:00Z", kWestLon, kAcrossLat);
    fix.replace(fix.find(kPerson), std::string(kPerson).size(), person(i));
    fix.replace(fix.find("pos-"), 4, "pos-" + std::to_string(i) + "-");
    Handle(fix);
  }
  EXPECT_EQ(engine_.state().last_fix.size(), static_cast<size_t>(kPersons));
  EXPECT_EQ(engine_.state().last_fix.max_load(), capacity) << "a fix grew the table";
}

TEST_F(PositionHandlerTest, DecideChangesNothingUntilApply) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion));
  auto out = engine_.Decide(Decode(Fix("2016-08-13T20:30:00Z", kLewishamLon, kLewishamLat)));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(engine_.state().episodes.empty());
  EXPECT_TRUE(engine_.state().last_fix.empty());
  // Deciding the same fix again still opens an episode: nothing was recorded.
  auto again = engine_.Decide(Decode(Fix("2016-08-13T20:30:00Z", kLewishamLon, kLewishamLat)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->alerts.size(), 1u);
  engine_.Apply(*out);
  EXPECT_EQ(engine_.state().episodes.size(), 1u);
  EXPECT_EQ(engine_.state().last_fix.size(), 1u);
}

TEST_F(PositionHandlerTest, InCustodyBreachGoesToOwningControlAsInfo) {
  Handle(
      Grant("instrument.granted", "2016-05-10T14:00:00Z", kLewishamExclusion, "null", "E09000011"));
  PutInCustody(T("2016-08-13T19:00:00Z"), T("2016-08-13T20:40:00Z"));
  Outcome out = Handle(Fix("2016-08-13T20:30:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kExclusionZoneBreach);
  EXPECT_EQ(a.severity, Severity::kInfo);
  EXPECT_TRUE(a.in_custody);
  EXPECT_EQ(a.recipients, std::vector<std::string>{"control/E09000011/"});
  EXPECT_EQ(a.extra.at("breach_severity").as_string(), "critical");
  EXPECT_EQ(BreachesCounted(), 0u);
  // Still in custody: the same episode, nothing more.
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:35:00Z", kLewishamLon, kLewishamLat)).alerts.empty());
  // Released at 20:40; in the zone a minute later: the OIC is paged now.
  Outcome after = Handle(Fix("2016-08-13T20:41:00Z", kLewishamLon, kLewishamLat));
  ASSERT_EQ(after.alerts.size(), 1u);
  EXPECT_EQ(after.alerts[0].severity, Severity::kCritical);
  EXPECT_FALSE(after.alerts[0].in_custody);
  EXPECT_EQ(
      after.alerts[0].recipients,
      (std::vector<std::string>{"officer/MP-PC1234/", "control/E09000023/", "control/E09000011/"}));
  EXPECT_EQ(BreachesCounted(), 1u);
}

TEST_F(PositionHandlerTest, CurfewViolationStartInsideWindow) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kCurfew));
  // 19:03 BST: inside the window but within the grace minutes.
  EXPECT_TRUE(Handle(CurfewViolation("2016-08-13T18:03:00Z", "start")).alerts.empty());
  // Midday: no window.
  EXPECT_TRUE(Handle(CurfewViolation("2016-08-12T12:00:00Z", "start")).alerts.empty());
  Outcome out = Handle(CurfewViolation("2016-08-13T20:30:00Z", "start"));
  ASSERT_EQ(out.alerts.size(), 1u) << out.note;
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kCurfewBreach);
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.condition_id, "c4");
  EXPECT_EQ(a.recipients, std::vector<std::string>{"officer/MP-PC1234/"});
  EXPECT_NE(a.summary.find("bail address"), std::string::npos) << a.summary;
  EXPECT_EQ(BreachesCounted(), 1u);
  // `end` raises nothing; GPS fixes away from home during the same absence are
  // the same episode.
  EXPECT_TRUE(Handle(CurfewViolation("2016-08-13T20:32:00Z", "end")).alerts.empty());
  EXPECT_TRUE(Handle(Fix("2016-08-13T20:33:00Z", kLewishamLon, kLewishamLat)).alerts.empty());
}

TEST_F(PositionHandlerTest, CurfewViolationInCustodyIsInfoToControl) {
  Handle(Grant("instrument.granted", "2016-05-10T14:00:00Z", kCurfew));
  PutInCustody(T("2016-08-13T19:00:00Z"), std::nullopt);
  Outcome out = Handle(CurfewViolation("2016-08-13T20:30:00Z", "start"));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].severity, Severity::kInfo);
  EXPECT_TRUE(out.alerts[0].in_custody);
  EXPECT_EQ(out.alerts[0].recipients, std::vector<std::string>{"control/E09000023/"});
  EXPECT_EQ(BreachesCounted(), 0u);
}

TEST_F(PositionHandlerTest, CurfewViolationWithoutInstrumentIsAnUnmatchedTagEvent) {
  Outcome out = Handle(CurfewViolation("2016-08-13T20:30:00Z", "start"));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kUnmatchedTagEvent);
  EXPECT_NE(out.note.find("no instrument in force"), std::string::npos) << out.note;
}

}  // namespace
}  // namespace bw
