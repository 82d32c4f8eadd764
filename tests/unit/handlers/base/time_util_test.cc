#include "handlers/base/time_util.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace bw {
namespace {

TEST(Rfc3339, ParsesUtcAndOffsets) {
  auto a = ParseRfc3339("2016-08-13T20:14:05Z");
  auto b = ParseRfc3339("2016-08-13T21:14:05+01:00");
  auto c = ParseRfc3339("2016-08-13T19:44:05-00:30");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_EQ(FormatRfc3339(*a), "2016-08-13T20:14:05Z");
}

TEST(Rfc3339, KeepsMilliseconds) {
  auto t = ParseRfc3339("2016-08-13T20:14:05.123456Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2016-08-13T20:14:05.123Z");
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* bad :
       {"", "2016-08-13", "2016-08-13T20:14:05", "2016-13-01T00:00:00Z", "2016-02-30T00:00:00Z",
        "2016-08-13 20:14:05Z", "2016-08-13T25:00:00Z", "2016-08-13T20:14:05+0100",
        "2016-08-13T20:14:05.Z", "x016-08-13T20:14:05Z", "2016-08-13T20:14:05Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

// Caught by fuzz_event_decoder's round-trip check (on a hand-written input; fuzzing alone had not
// reached it): "0000-01-01T00:30:00+01:00" was accepted as an instant in year -1, which
// FormatRfc3339 wrote as "00-1-12-31T23:30:00Z" and nothing parses back (stored event times, alert
// event_time, history rows).  The same at the other end of the range.
TEST(Rfc3339, RejectsOffsetsThatLeaveTheFourDigitUtcYears) {
  EXPECT_FALSE(ParseRfc3339("0000-01-01T00:30:00+01:00"));
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:30:00-01:00"));
}

TEST(Rfc3339, RoundTripsAcrossTheWholeRange) {
  for (const char* text : {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
                           "1969-12-31T23:59:59.500Z", "1900-02-28T12:00:00.001Z"}) {
    auto t = ParseRfc3339(text);
    ASSERT_TRUE(t) << text;
    EXPECT_EQ(FormatRfc3339(*t), text);
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(*t)), t) << text;
  }
  EXPECT_EQ(ParseRfc3339("0000-01-01T00:30:00-01:00"), ParseRfc3339("0000-01-01T01:30:00Z"));
}


// FormatRfc3339 writes its digits itself (it runs several times per stored event); it must spell
// every instant as date::format does, before 1970, at year and day boundaries and with or without
// milliseconds.
TEST(Rfc3339, FormatSpellsEveryInstantAsDateFormatDoes) {
  auto reference = [](TimePoint t) {
    return t.time_since_epoch().count() % 1000 == 0
               ? date::format("%FT%TZ", std::chrono::time_point_cast<std::chrono::seconds>(t))
               : date::format("%FT%TZ", t);
  };
  std::vector<TimePoint> instants = {
      TimePoint{},
      TimePoint{Millis{-1}},
      TimePoint{Millis{1}},
      TimePoint{date::sys_days{date::year{0} / 1 / 1}},
      TimePoint{date::sys_days{date::year{10000} / 1 / 1}} - Millis{1},
      TimePoint{date::sys_days{date::year{2024} / 2 / 29}} + Millis{86'399'999},
      TimePoint{date::sys_days{date::year{1969} / 12 / 31}} + Millis{86'399'000},
  };
  std::mt19937_64 random(20261130);
  const int64_t first = TimePoint{date::sys_days{date::year{0} / 1 / 1}}.time_since_epoch().count();
  const int64_t last = TimePoint{date::sys_days{date::year{10000} / 1 / 1}}.time_since_epoch().count();
  for (int i = 0; i < 20000; ++i) {
    int64_t ms = std::uniform_int_distribution<int64_t>(first, last - 1)(random);
    if (i % 2) ms -= ms % 1000;  // half of them on a whole second
    instants.push_back(TimePoint{Millis{ms}});
  }
  for (TimePoint t : instants) {
    ASSERT_EQ(FormatRfc3339(t), reference(t)) << t.time_since_epoch().count();
  }
}

}  // namespace
}  // namespace bw
