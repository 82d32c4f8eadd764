// CountBreach (protocol 5.3): what counts as one breach, the sliding window and
// repeat_breach at each new multiple of the threshold.  No sleeps.
#include "handlers/engine/breach_counting.h"

#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr const char* kPerson = "PNC-79/123456X";

std::shared_ptr<const Instrument> MakeInstrument(const std::string& id, const std::string& sup,
                                                 const std::string& control) {
  auto ins = std::make_shared<Instrument>();
  ins->instrument_id = id;
  ins->subject = kPerson;
  ins->oic = "MP-PC1234";
  ins->supervisor = sup;
  ins->owning_control = control;
  ins->valid_from = T("2016-01-01T00:00:00Z");
  return ins;
}

class BreachCountingTest : public ::testing::Test {
 protected:
  BreachCountingTest()
      : zones_(*ZoneIndex::Build({})),
        bail_(MakeInstrument("BAIL/1", "MP-DS0077", "E09000023")),
        dvpo_(MakeInstrument("DVPO/2", "MP-DS0088", "E09000011")) {
    state_.instruments.AddVersion("BAIL/1", {bail_->valid_from, bail_, ""});
  }

  // Counts one breach of `ins` at `time` in its own Outcome and applies it.
  Outcome Count(const char* time, const Instrument* ins = nullptr) {
    Outcome out;
    HandlerContext ctx{state_, *zones_, policy_, T("2017-01-01T00:00:00Z"), rooms_};
    Event cause;
    cause.id = std::string("e-") + time;
    cause.source = "test";
    cause.time = T(time);
    CountBreach(ctx, cause, ins ? *ins : *bail_, kPerson, T(time), AlertKind::kExclusionZoneBreach,
                &out);
    for (const auto& m : out.mutations) m(state_);
    return out;
  }

  Policy policy_;
  std::vector<std::string> rooms_;
  EngineState state_;
  std::shared_ptr<const ZoneIndex> zones_;
  std::shared_ptr<const Instrument> bail_, dvpo_;
};

TEST_F(BreachCountingTest, RepeatAlertAtTheThirdAndSixthBreachOnly) {
  const char* times[] = {"2016-03-01T10:00:00Z", "2016-03-02T10:00:00Z", "2016-03-03T10:00:00Z",
                         "2016-03-04T10:00:00Z", "2016-03-05T10:00:00Z", "2016-03-06T10:00:00Z",
                         "2016-03-07T10:00:00Z"};
  std::vector<size_t> alerted;
  for (size_t i = 0; i < std::size(times); ++i) {
    Outcome out = Count(times[i]);
    ASSERT_LE(out.alerts.size(), 1u);
    if (!out.alerts.empty()) alerted.push_back(i + 1);
  }
  EXPECT_EQ(alerted, (std::vector<size_t>{3, 6}));
  EXPECT_EQ(state_.breaches.at(kPerson).size(), 7u);
}

TEST_F(BreachCountingTest, RepeatAlertGoesToSupervisorAndOwningControlWithHistory) {
  state_.instruments.AddVersion("DVPO/2", {dvpo_->valid_from, dvpo_, ""});
  Count("2016-03-01T10:00:00Z");
  Count("2016-03-02T10:00:00Z", dvpo_.get());
  Outcome out = Count("2016-03-03T10:00:00Z");
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kRepeatBreach);
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.person_id, kPerson);
  EXPECT_EQ(a.event_time, T("2016-03-03T10:00:00Z"));
  EXPECT_EQ(a.recipients, (std::vector<std::string>{"officer/MP-DS0077/", "control/E09000023/",
                                                    "officer/MP-DS0088/", "control/E09000011/"}));
  EXPECT_EQ(a.extra.at("breach_count").as_int64(), 3);
  const auto& history = a.extra.at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  // Newest first (protocol 9.1).
  EXPECT_EQ(history[1].at("instrument_id").as_string(), "DVPO/2");
  EXPECT_EQ(history[0].at("time").as_string(), "2016-03-03T10:00:00Z");
  EXPECT_EQ(history[0].at("kind").as_string(), "exclusion_zone_breach");
  EXPECT_EQ(history[2].at("time").as_string(), "2016-03-01T10:00:00Z");
}

TEST_F(BreachCountingTest, BreachesOutsideTheWindowDoNotCount) {
  Count("2016-01-10T10:00:00Z");
  Count("2016-01-11T10:00:00Z");
  // 90 days later the first two have left the window: counts 1 and 2.
  EXPECT_TRUE(Count("2016-04-10T10:00:01Z").alerts.empty());
  EXPECT_TRUE(Count("2016-04-11T10:00:00Z").alerts.empty());
  Outcome third = Count("2016-04-12T10:00:00Z");
  ASSERT_EQ(third.alerts.size(), 1u);
  EXPECT_EQ(third.alerts[0].extra.at("breach_count").as_int64(), 3);
  EXPECT_EQ(third.alerts[0].extra.at("history").as_array().size(), 5u);
}

TEST_F(BreachCountingTest, ABreachExactlyWindowDaysOldHasLeftTheWindow) {
  Count("2016-01-10T10:00:00Z");
  Count("2016-01-11T10:00:00Z");
  // (t - 90 days, t]: 2016-01-10T10:00 is exactly 90 days before 2016-04-09T10:00.
  EXPECT_TRUE(Count("2016-04-09T10:00:00Z").alerts.empty());
}

TEST_F(BreachCountingTest, ASteadyThreeInTheWindowDoesNotReAlertEveryBreach) {
  // One breach a month: three within any 90 days, but the count never rises past 3.
  EXPECT_TRUE(Count("2016-01-01T00:00:00Z").alerts.empty());
  EXPECT_TRUE(Count("2016-02-01T00:00:00Z").alerts.empty());
  EXPECT_EQ(Count("2016-03-01T00:00:00Z").alerts.size(), 1u);
  EXPECT_TRUE(Count("2016-04-01T00:00:00Z").alerts.empty());
  EXPECT_TRUE(Count("2016-05-01T00:00:00Z").alerts.empty());
}

TEST_F(BreachCountingTest, BreachesEarlierInTheSameOutcomeCount) {
  Count("2016-03-01T10:00:00Z");
  Outcome out;
  HandlerContext ctx{state_, *zones_, policy_, T("2017-01-01T00:00:00Z"), rooms_};
  Event cause;
  cause.time = T("2016-03-02T10:00:00Z");
  CountBreach(ctx, cause, *bail_, kPerson, cause.time, AlertKind::kExclusionZoneBreach, &out);
  EXPECT_TRUE(out.alerts.empty());
  CountBreach(ctx, cause, *bail_, kPerson, cause.time, AlertKind::kAddressBreach, &out);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].extra.at("breach_count").as_int64(), 3);
  // Nothing changed until the mutations run.
  EXPECT_EQ(state_.breaches.at(kPerson).size(), 1u);
  for (const auto& m : out.mutations) m(state_);
  EXPECT_EQ(state_.breaches.at(kPerson).size(), 3u);
}

TEST_F(BreachCountingTest, LateBreachIsInsertedInTimeOrder) {
  Count("2016-03-05T10:00:00Z");
  Count("2016-03-01T10:00:00Z");
  const auto& v = state_.breaches.at(kPerson);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_LT(v[0].time, v[1].time);
}

TEST_F(BreachCountingTest, ThresholdFromPolicy) {
  policy_.repeat_breach_threshold = 2;
  EXPECT_TRUE(Count("2016-03-01T10:00:00Z").alerts.empty());
  EXPECT_EQ(Count("2016-03-02T10:00:00Z").alerts.size(), 1u);
  EXPECT_TRUE(Count("2016-03-03T10:00:00Z").alerts.empty());
  EXPECT_EQ(Count("2016-03-04T10:00:00Z").alerts.size(), 1u);
}

// Through the engine.
class BreachCountingEngineTest : public EngineFixture {
 protected:
  BreachCountingEngineTest() : EngineFixture("2016-08-13T21:00:00Z") {}
};

// One check breaching two conditions is two breaches.
TEST_F(BreachCountingEngineTest, OneEventBreachingTwoConditionsCountsTwo) {
  Handle(R"({"type":"instrument.granted","id":"g1","source":"court","time":"2016-05-10T14:00:00Z",
    "instrument":{"instrument_id":"BAIL/1","kind":"police_bail","subject":"PNC-79/123456X",
    "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
    "valid_from":"2016-05-10T14:00:00Z","valid_until":null,"conditions":[
      {"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},
      {"condition_id":"c2","kind":"not_to_attend",
       "place":{"label":"home","at":[-0.026769491892293,51.456018429508376],"radius_m":100}}]}})");
  auto check = [](const char* id, const char* time) {
    return std::string(R"({"type":"check.person","id":")") + id +
           R"(","source":"checks","time":")" + time +
           R"(","person_id":"PNC-79/123456X","officer_id":"MP-PC5555",
              "at":[-0.026769491892293,51.456018429508376]})";
  };
  Outcome first = Handle(check("k1", "2016-08-13T20:00:00Z"));
  EXPECT_EQ(engine_.state().breaches.at(kPerson).size(), 2u);
  for (const auto& a : first.alerts) EXPECT_NE(a.kind, AlertKind::kRepeatBreach);
  // Two more: the count goes 3, 4; one repeat_breach, at the third.
  Outcome second = Handle(check("k2", "2016-08-13T20:30:00Z"));
  EXPECT_EQ(engine_.state().breaches.at(kPerson).size(), 4u);
  int repeats = 0;
  for (const auto& a : second.alerts) repeats += a.kind == AlertKind::kRepeatBreach;
  EXPECT_EQ(repeats, 1);
}

TEST_F(BreachCountingEngineTest, BreachArrestsCountTowardsRepeatBreach) {
  Handle(R"({"type":"instrument.granted","id":"g1","source":"court","time":"2016-05-10T14:00:00Z",
    "instrument":{"instrument_id":"BAIL/1","kind":"police_bail","subject":"PNC-79/123456X",
    "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
    "valid_from":"2016-05-10T14:00:00Z","valid_until":null,"conditions":[]}})");
  Outcome last;
  for (int day = 1; day <= 3; ++day) {
    const std::string d = "2016-08-0" + std::to_string(day);
    last = Handle(R"({"type":"custody.arrested","id":"a)" + d + R"(","source":"custody","time":")" +
                  d + R"(T10:00:00Z","person_id":"PNC-79/123456X","arresting_officer":"MP-PC7",
                  "reason":"breach"})");
    Handle(R"({"type":"custody.released","id":"r)" + d + R"(","source":"custody","time":")" + d +
           R"(T18:00:00Z","person_id":"PNC-79/123456X","outcome":"rebailed"})");
  }
  EXPECT_EQ(engine_.state().breaches.at(kPerson).size(), 3u);
  ASSERT_EQ(last.alerts.size(), 2u);
  EXPECT_EQ(last.alerts[0].kind, AlertKind::kBreachArrest);
  EXPECT_EQ(last.alerts[0].extra.at("breach_count").as_int64(), 3);
  EXPECT_EQ(last.alerts[1].kind, AlertKind::kRepeatBreach);
  EXPECT_EQ(last.alerts[1].recipients,
            (std::vector<std::string>{"officer/MP-DS0077/", "control/E09000023/"}));
}

}  // namespace
}  // namespace bw
