// The tick never walks the population (issue 14): the expiry warning reads an
// ordered index of the valid_until not yet warned about, and an instrument
// leaves it once warned.  Engine::Tick with an injected clock, no sleeps.
#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

std::string Grant(const std::string& type, const std::string& instrument_id,
                  const std::string& subject, const std::string& time,
                  const std::string& valid_until) {
  return R"({"type":")" + type + R"(","id":")" + type + instrument_id + time +
         R"(","source":"court","time":")" + time + R"(","instrument":{"instrument_id":")" +
         instrument_id + R"(","kind":"police_bail","subject":")" + subject +
         R"(","case_ref":"01LW/12345/16","oic":"MP-PC1234","supervisor":"MP-DS0077",
         "owning_control":"E09000023","valid_from":"2016-05-10T14:00:00Z","valid_until":)" +
         valid_until + R"(,"conditions":[]}})";
}

class ExpiryIndexTest : public EngineFixture {
 protected:
  ExpiryIndexTest() : EngineFixture("2016-05-10T14:00:00Z", *ZoneIndex::Build({})) {}

  // What the next tick at `now` would look at: the index entries in its window.
  size_t DueInWindow(const char* now) {
    const TimePoint t = T(now);
    return engine_.state()
        .instruments
        .UnwarnedValidUntilIn(t, t + std::chrono::hours(engine_.policy().expiry_warning_h))
        .size();
  }
};

// Before: every tick listed every instrument ending within the next 24 h,
// warned about or not, and looked each one up again.
TEST_F(ExpiryIndexTest, AWarnedInstrumentLeavesTheIndexTheTickReads) {
  HandleAsItHappens(Grant("instrument.granted", "BAIL/1", "PNC-01/000001A", "2016-05-10T14:00:00Z",
                          R"("2016-07-15T09:00:00Z")"));
  EXPECT_EQ(DueInWindow("2016-07-14T10:00:00Z"), 1u);
  ASSERT_EQ(TickAt("2016-07-14T10:00:00Z").size(), 1u);
  EXPECT_EQ(DueInWindow("2016-07-14T10:00:00Z"), 0u);
  EXPECT_EQ(DueInWindow("2016-07-15T08:59:59Z"), 0u);
  EXPECT_TRUE(TickAt("2016-07-14T11:00:00Z").empty());
}

TEST_F(ExpiryIndexTest, ManyInstrumentsWarnedOnceEachAndNotReadAgain) {
  // 200 instruments ending within the same day, 100 far later.
  for (int i = 0; i < 300; ++i) {
    const std::string until = i < 200 ? R"("2016-07-15T09:00:00Z")" : R"("2017-07-15T09:00:00Z")";
    HandleAsItHappens(Grant("instrument.granted", "BAIL/" + std::to_string(i),
                            "PNC-01/" + std::to_string(100000 + i) + "A", "2016-05-10T14:00:00Z",
                            until));
  }
  EXPECT_EQ(DueInWindow("2016-07-14T12:00:00Z"), 200u);
  EXPECT_EQ(TickAt("2016-07-14T12:00:00Z").size(), 200u);
  EXPECT_EQ(DueInWindow("2016-07-14T12:00:00Z"), 0u);
  EXPECT_TRUE(TickAt("2016-07-14T12:00:01Z").empty());
  EXPECT_EQ(DueInWindow("2017-07-14T12:00:00Z"), 100u);
}

TEST_F(ExpiryIndexTest, ReBailOnTheSameDateStaysOutOfTheIndexANewDateEntersIt) {
  HandleAsItHappens(Grant("instrument.granted", "BAIL/1", "PNC-01/000001A", "2016-05-10T14:00:00Z",
                          R"("2016-07-15T09:00:00Z")"));
  ASSERT_EQ(TickAt("2016-07-14T10:00:00Z").size(), 1u);
  HandleAsItHappens(Grant("instrument.varied", "BAIL/1", "PNC-01/000001A", "2016-07-14T11:00:00Z",
                          R"("2016-07-15T09:00:00Z")"));
  EXPECT_EQ(DueInWindow("2016-07-14T12:00:00Z"), 0u);
  EXPECT_TRUE(TickAt("2016-07-14T12:00:00Z").empty());
  HandleAsItHappens(Grant("instrument.varied", "BAIL/1", "PNC-01/000001A", "2016-07-14T13:00:00Z",
                          R"("2016-07-20T09:00:00Z")"));
  EXPECT_EQ(DueInWindow("2016-07-19T10:00:00Z"), 1u);
  ASSERT_EQ(TickAt("2016-07-19T10:00:00Z").size(), 1u);
  EXPECT_EQ(DueInWindow("2016-07-19T10:00:00Z"), 0u);
}

TEST_F(ExpiryIndexTest, ACopiedStateKeepsWhatWasWarned) {
  HandleAsItHappens(Grant("instrument.granted", "BAIL/1", "PNC-01/000001A", "2016-05-10T14:00:00Z",
                          R"("2016-07-15T09:00:00Z")"));
  ASSERT_EQ(TickAt("2016-07-14T10:00:00Z").size(), 1u);
  const InstrumentRegistry copy = engine_.state().instruments;
  const TimePoint t = T("2016-07-14T10:00:00Z");
  EXPECT_TRUE(copy.UnwarnedValidUntilIn(t, t + std::chrono::hours(24)).empty());
  EXPECT_EQ(copy.ExpiryWarnedFor("BAIL/1"), T("2016-07-15T09:00:00Z"));
}

}  // namespace
}  // namespace bw
