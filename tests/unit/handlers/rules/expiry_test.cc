// instrument_expiring (protocol 5.3) through Engine::Tick: timing, once per
// valid_until, again after a variation moves it.  Injected clock, no sleeps.
#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

std::string Instrument(const std::string& type, const std::string& time,
                       const std::string& valid_until) {
  return R"({"type":")" + type + R"(","id":")" + type + time + R"(","source":"court","time":")" +
         time +
         R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","case_ref":"01LW/12345/16","oic":"MP-PC1234",
         "supervisor":"MP-DS0077","owning_control":"E09000023",
         "valid_from":"2016-05-10T14:00:00Z","valid_until":)" +
         valid_until + R"(,"conditions":[]}})";
}

class ExpiryTest : public EngineFixture {
 protected:
  ExpiryTest() : EngineFixture("2016-05-10T14:00:00Z", *ZoneIndex::Build({})) {}
};

TEST_F(ExpiryTest, WarnsOnceFromTwentyFourHoursBeforeValidUntil) {
  HandleAsItHappens(
      Instrument("instrument.granted", "2016-05-10T14:00:00Z", R"("2016-07-15T09:00:00Z")"));
  EXPECT_TRUE(TickAt("2016-07-01T00:00:00Z").empty());
  EXPECT_TRUE(TickAt("2016-07-14T08:59:59Z").empty());
  std::vector<Alert> alerts = TickAt("2016-07-14T09:00:00Z");
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kInstrumentExpiring);
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.instrument_id, "BAIL/LW/2016/0412");
  EXPECT_EQ(a.person_id, "PNC-79/123456X");
  EXPECT_EQ(a.recipients, std::vector<std::string>{"officer/MP-PC1234/"});
  EXPECT_EQ(a.extra.at("valid_until").as_string(), "2016-07-15T09:00:00Z");
  EXPECT_NE(a.summary.find("24 h 0 min"), std::string::npos) << a.summary;
  // Once.
  EXPECT_TRUE(TickAt("2016-07-14T09:00:01Z").empty());
  EXPECT_TRUE(TickAt("2016-07-15T08:59:59Z").empty());
  EXPECT_TRUE(TickAt("2016-07-15T09:00:00Z").empty());
}

TEST_F(ExpiryTest, TickChangesNothingUntilApplied) {
  HandleAsItHappens(
      Instrument("instrument.granted", "2016-05-10T14:00:00Z", R"("2016-07-15T09:00:00Z")"));
  clock_.Set(T("2016-07-14T12:00:00Z"));
  ASSERT_EQ(engine_.Tick(clock_.Now())->alerts.size(), 1u);
  ASSERT_EQ(engine_.Tick(clock_.Now())->alerts.size(), 1u);
}

TEST_F(ExpiryTest, VariationExtendingValidUntilIsWarnedAgain) {
  HandleAsItHappens(
      Instrument("instrument.granted", "2016-05-10T14:00:00Z", R"("2016-07-15T09:00:00Z")"));
  ASSERT_EQ(TickAt("2016-07-14T10:00:00Z").size(), 1u);
  // Re-bailed on the same date: no second warning.
  HandleAsItHappens(
      Instrument("instrument.varied", "2016-07-14T11:00:00Z", R"("2016-07-15T09:00:00Z")"));
  EXPECT_TRUE(TickAt("2016-07-14T12:00:00Z").empty());
  // Extended by five days: quiet until its own window, then one warning.
  HandleAsItHappens(
      Instrument("instrument.varied", "2016-07-14T13:00:00Z", R"("2016-07-20T09:00:00Z")"));
  EXPECT_TRUE(TickAt("2016-07-14T14:00:00Z").empty());
  EXPECT_TRUE(TickAt("2016-07-19T08:59:00Z").empty());
  std::vector<Alert> again = TickAt("2016-07-19T09:00:00Z");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].extra.at("valid_until").as_string(), "2016-07-20T09:00:00Z");
  EXPECT_TRUE(TickAt("2016-07-19T10:00:00Z").empty());
}

TEST_F(ExpiryTest, NoWarningWithoutValidUntilOrAfterTheEnd) {
  HandleAsItHappens(Instrument("instrument.granted", "2016-05-10T14:00:00Z", "null"));
  EXPECT_TRUE(TickAt("2030-01-01T00:00:00Z").empty());
  HandleAsItHappens(
      Instrument("instrument.varied", "2030-01-01T00:00:00Z", R"("2030-01-02T00:00:00Z")"));
  HandleAsItHappens(
      R"({"type":"instrument.ended","id":"end","source":"court","time":"2030-01-01T06:00:00Z",
             "instrument_id":"BAIL/LW/2016/0412","reason":"charged"})");
  EXPECT_TRUE(TickAt("2030-01-01T12:00:00Z").empty());
}

TEST_F(ExpiryTest, WarningWindowFromPolicy) {
  Policy p;
  p.expiry_warning_h = 48;
  engine_.SetPolicy(p);
  HandleAsItHappens(
      Instrument("instrument.granted", "2016-05-10T14:00:00Z", R"("2016-07-15T09:00:00Z")"));
  EXPECT_TRUE(TickAt("2016-07-13T08:59:59Z").empty());
  EXPECT_EQ(TickAt("2016-07-13T09:00:00Z").size(), 1u);
}

}  // namespace
}  // namespace bw
