// Curfew windows on the local wall clock: midnight crossing, start day, grace,
// and the Europe/London daylight-saving changes of 2026 (spec section 3).
#include "handlers/instruments/curfew.h"

#include <gtest/gtest.h>

#include "handlers/base/time_util.h"

namespace bw {
namespace {

using std::chrono::minutes;

TimePoint T(const char* s) {
  auto t = ParseRfc3339(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(TimePoint{});
}

constexpr unsigned kSun = 0, kMon = 1, kTue = 2, kSat = 6;
const std::vector<unsigned> kEveryDay = {0, 1, 2, 3, 4, 5, 6};

Condition Curfew(std::vector<unsigned> days, int start_min, int end_min,
                 std::string tz = "Europe/London") {
  Condition c;
  c.condition_id = "c4";
  c.kind = ConditionKind::kCurfew;
  c.windows.push_back(CurfewWindow{std::move(days), start_min, end_min});
  c.tz = std::move(tz);
  return c;
}

struct Case {
  const char* what;
  Condition condition;
  const char* at;
  int grace_min;
  bool inside;
};

// 2026-01-05 is a Monday (GMT, so local = UTC); 2026-03-29 and 2026-10-25
// are the Sundays when British Summer Time starts and ends.
TEST(CurfewTest, WindowTable) {
  const Condition mon_night = Curfew({kMon}, 19 * 60, 7 * 60);
  const Condition daily_night = Curfew(kEveryDay, 19 * 60, 7 * 60);
  const Condition spring = Curfew(kEveryDay, 1 * 60, 3 * 60);
  const Condition autumn = Curfew(kEveryDay, 1 * 60, 2 * 60);
  const Condition to_midnight = Curfew({kMon}, 19 * 60, 24 * 60);
  const std::vector<Case> cases = {
      // Crossing midnight: Monday's window runs into Tuesday morning.
      {"Mon window covers Tue 03:00", mon_night, "2026-01-06T03:00:00Z", 0, true},
      {"Mon window ends Tue 07:00 (exclusive)", mon_night, "2026-01-06T07:00:00Z", 0, false},
      {"Mon window not Tue 08:00", mon_night, "2026-01-06T08:00:00Z", 0, false},
      {"Mon window starts Mon 19:00", mon_night, "2026-01-05T19:00:00Z", 0, true},
      {"Mon window not Mon 18:59", mon_night, "2026-01-05T18:59:00Z", 0, false},
      // The days name the day the window starts.
      {"no window starting Tue evening", mon_night, "2026-01-06T20:00:00Z", 0, false},
      {"no window from Sun night into Mon", mon_night, "2026-01-05T03:00:00Z", 0, false},
      {"Sat-only window covers Sun 01:00", Curfew({kSat}, 22 * 60, 6 * 60), "2026-01-04T01:00:00Z",
       0, true},
      {"Sun-only window not Sat night", Curfew({kSun}, 22 * 60, 6 * 60), "2026-01-03T23:00:00Z", 0,
       false},
      {"Tue daytime window", Curfew({kTue}, 9 * 60, 17 * 60), "2026-01-06T12:00:00Z", 0, true},
      {"Tue daytime window not Mon", Curfew({kTue}, 9 * 60, 17 * 60), "2026-01-05T12:00:00Z", 0,
       false},
      // end 24:00 is midnight of the next day.
      {"until 24:00 covers 23:59", to_midnight, "2026-01-05T23:59:00Z", 0, true},
      {"until 24:00 ends at midnight", to_midnight, "2026-01-06T00:00:00Z", 0, false},
      // Grace counts from the window's start.
      {"inside grace", mon_night, "2026-01-05T19:04:59Z", 5, false},
      {"grace elapsed", mon_night, "2026-01-05T19:05:00Z", 5, true},
      {"grace does not extend the end", mon_night, "2026-01-06T07:00:00Z", 5, false},
      {"grace longer than the window", Curfew({kTue}, 9 * 60, 10 * 60), "2026-01-06T09:59:00Z", 61,
       false},
      // Summer time: 19:00-07:00 BST is 18:00Z-06:00Z.
      {"BST 19:30 is inside", daily_night, "2016-08-13T18:30:00Z", 0, true},
      {"BST 18:30 is outside", daily_night, "2016-08-13T17:30:00Z", 0, false},
      {"BST 06:59 is inside", daily_night, "2016-08-14T05:59:00Z", 0, true},
      {"BST 07:30 is outside", daily_night, "2016-08-14T06:30:00Z", 0, false},
      {"GMT 18:30 is outside", daily_night, "2026-01-05T18:30:00Z", 0, false},
      // Spring forward 2026-03-29: 01:00 GMT becomes 02:00 BST; 01:00-03:00
      // local starts at the first valid instant (01:00Z) and ends at 03:00 BST.
      {"spring: before", spring, "2026-03-29T00:59:00Z", 0, false},
      {"spring: start at the transition", spring, "2026-03-29T01:00:00Z", 0, true},
      {"spring: last minute", spring, "2026-03-29T01:59:00Z", 0, true},
      {"spring: 03:00 BST ends it", spring, "2026-03-29T02:00:00Z", 0, false},
      {"spring: start inside the gap", Curfew(kEveryDay, 90, 180), "2026-03-29T01:00:00Z", 0, true},
      {"spring: grace from the transition", spring, "2026-03-29T01:04:00Z", 5, false},
      {"spring: grace elapsed", spring, "2026-03-29T01:05:00Z", 5, true},
      // Fall back 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:00-02:00 local
      // covers both occurrences, 00:00Z-02:00Z.
      {"autumn: before", autumn, "2026-10-24T23:59:00Z", 0, false},
      {"autumn: first 01:00 (BST)", autumn, "2026-10-25T00:00:00Z", 0, true},
      {"autumn: first 01:30 (BST)", autumn, "2026-10-25T00:30:00Z", 0, true},
      {"autumn: second 01:30 (GMT)", autumn, "2026-10-25T01:30:00Z", 0, true},
      {"autumn: 02:00 GMT ends it", autumn, "2026-10-25T02:00:00Z", 0, false},
      {"autumn: end in the repeated hour is its latest", Curfew({kSat}, 22 * 60, 90),
       "2026-10-25T01:15:00Z", 0, true},
      {"autumn: ... and exclusive", Curfew({kSat}, 22 * 60, 90), "2026-10-25T01:30:00Z", 0, false},
      // Another zone: 22:00-06:00 in New York (EST, UTC-5) on 2026-01-05.
      {"America/New_York", Curfew({kMon}, 22 * 60, 6 * 60, "America/New_York"),
       "2026-01-06T03:30:00Z", 0, true},
      {"America/New_York, London evening", Curfew({kMon}, 22 * 60, 6 * 60, "America/New_York"),
       "2026-01-05T22:30:00Z", 0, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(InCurfewWindow(c.condition, T(c.at), minutes(c.grace_min)), c.inside) << c.at;
  }
}

TEST(CurfewTest, SpringForwardIntervalIsOneHour) {
  auto w = ActiveCurfewWindow(Curfew(kEveryDay, 60, 180), T("2026-03-29T01:30:00Z"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ(FormatRfc3339((*w)->start), "2026-03-29T01:00:00Z");
  EXPECT_EQ(FormatRfc3339((*w)->end), "2026-03-29T02:00:00Z");
}

TEST(CurfewTest, FallBackIntervalCoversBothOccurrences) {
  auto w = ActiveCurfewWindow(Curfew(kEveryDay, 60, 120), T("2026-10-25T01:30:00Z"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ(FormatRfc3339((*w)->start), "2026-10-25T00:00:00Z");
  EXPECT_EQ(FormatRfc3339((*w)->end), "2026-10-25T02:00:00Z");
}

TEST(CurfewTest, OverlappingWindowsReportTheEarliestStartAndItsIndex) {
  Condition c = Curfew({kMon}, 20 * 60, 23 * 60);
  c.windows.push_back(CurfewWindow{{kMon}, 19 * 60, 22 * 60});
  auto w = ActiveCurfewWindow(c, T("2026-01-05T21:00:00Z"));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ((*w)->window_index, 1u);
  EXPECT_EQ(FormatRfc3339((*w)->start), "2026-01-05T19:00:00Z");
  // With 90 min of grace: at 21:35 both have run long enough (the earlier start
  // wins); at 20:20 neither has.
  auto graced = ActiveCurfewWindow(c, T("2026-01-05T21:35:00Z"), minutes(90));
  ASSERT_TRUE(graced.ok());
  ASSERT_TRUE(graced->has_value());
  EXPECT_EQ((*graced)->window_index, 1u);
  auto none = ActiveCurfewWindow(c, T("2026-01-05T20:20:00Z"), minutes(90));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(CurfewTest, UnknownTimeZoneIsAnErrorNotAWindow) {
  const Condition c = Curfew(kEveryDay, 19 * 60, 7 * 60, "Europe/Atlantis");
  auto w = ActiveCurfewWindow(c, T("2026-01-05T21:00:00Z"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().field(), "tz");
  EXPECT_FALSE(InCurfewWindow(c, T("2026-01-05T21:00:00Z")));
}

TEST(CurfewTest, DescribesAWindow) {
  EXPECT_EQ(DescribeCurfewWindow(Curfew(kEveryDay, 19 * 60, 7 * 60), 0),
            "daily 19:00-07:00 Europe/London");
  EXPECT_EQ(DescribeCurfewWindow(Curfew({kMon, kTue}, 21 * 60 + 30, 24 * 60), 0),
            "mon,tue 21:30-24:00 Europe/London");
  EXPECT_EQ(DescribeCurfewWindow(Curfew({kMon}, 0, 60), 3), "");
}

}  // namespace
}  // namespace bw
