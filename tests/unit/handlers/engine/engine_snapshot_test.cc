// EncodeEngineState / DecodeEngineState (handlers/engine/engine_snapshot.h): a decoded state
// decides as the original does and encodes to the same bytes; truncated or padded bytes are
// refused, never half read.  Injected clock, no sleeps.
#include "handlers/engine/engine_snapshot.h"

#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

std::string Grant(const std::string& type, const std::string& n, const std::string& time,
                  const std::string& valid_until, const std::string& conditions,
                  const std::string& extra = "") {
  return R"({"type":")" + type + R"(","id":"g)" + n + time + R"(","source":"court","time":")" +
         time + R"(","instrument":{"instrument_id":"BAIL/)" + n +
         R"(","kind":"police_bail","subject":"PNC-)" + n +
         R"(","case_ref":"01LW/12345/16","oic":"MP-PC1234","supervisor":"MP-DS0077",
         "owning_control":"E09000023","valid_from":"2016-05-10T14:00:00Z",)" +
         extra + R"("valid_until":)" + valid_until + R"(,"conditions":)" + conditions + "}}";
}

const char* kConditions = R"([
  {"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},
  {"condition_id":"c2","kind":"exclusion_zone","zone":{"type":"Polygon","coordinates":
    [[[-0.10,51.50],[-0.09,51.50],[-0.09,51.51],[-0.10,51.51],[-0.10,51.50]]]}},
  {"condition_id":"c3","kind":"not_to_attend","place":{"label":"protected address",
    "at":[-0.05,51.47],"radius_m":200}},
  {"condition_id":"c4","kind":"curfew","place":{"label":"bail address","at":[-0.2,51.55],
    "radius_m":100},"windows":[{"days":["mon","tue","wed","thu","fri"],"start":"20:00",
    "end":"07:00"}],"tz":"Europe/London","grace_min":15}])";

std::string Fix(const std::string& n, const std::string& id, const std::string& time,
                const std::string& at) {
  return R"({"type":"tag.position","id":")" + id + R"(","source":"em","time":")" + time +
         R"(","person_id":"PNC-)" + n + R"(","device_id":"TAG-1","at":)" + at +
         R"(,"accuracy_m":10})";
}

std::string Check(const std::string& n, const std::string& time, const std::string& at) {
  return R"({"type":"check.person","id":"chk)" + n + time + R"(","source":"checks","time":")" +
         time + R"(","person_id":"PNC-)" + n + R"(","officer_id":"MP-PC5555","at":)" + at + "}";
}

class EngineSnapshotTest : public EngineFixture {
 protected:
  EngineSnapshotTest() : EngineFixture("2016-08-13T21:00:00Z") {}

  // A state with a bit of everything: instruments (inline zone, borough, place, curfew, risk),
  // a variation, an end, breaches (episodes, breach records, history), last fixes, and an expiry
  // warning.
  void BuildHistory() {
    Handle(Grant("instrument.granted", "1", "2016-05-10T14:00:00Z", R"("2016-08-14T09:00:00Z")",
                 kConditions,
                 R"("risk":{"level":"high","tool":"DARA","marac":true,"markers":["VI"]},)"));
    Handle(Grant("instrument.granted", "2", "2016-05-10T14:00:00Z", "null", kConditions));
    Handle(Grant("instrument.varied", "2", "2016-06-10T14:00:00Z", R"("2017-01-01T00:00:00Z")",
                 kConditions));
    Handle(Grant("instrument.granted", "3", "2016-05-10T14:00:00Z", "null", kConditions));
    Handle(R"({"type":"instrument.ended","id":"e3","source":"court","time":"2016-07-01T00:00:00Z",
               "instrument_id":"BAIL/3","reason":"charged"})");
    // Breaches: inside Lewisham, then inside the inline zone.
    Handle(Fix("1", "f1", "2016-08-13T20:00:00Z", "[-0.026769491892293,51.456018429508376]"));
    Handle(Fix("2", "f2", "2016-08-13T20:00:00Z", "[-0.095,51.505]"));
    Handle(Fix("2", "f3", "2016-08-13T20:10:00Z", "[-0.2,51.6]"));
    auto tick = engine_.Tick(T("2016-08-13T21:00:00Z"));
    ASSERT_TRUE(tick.ok());
    ASSERT_FALSE(tick->alerts.empty()) << "instrument 1 expires within 24 h";
    engine_.Apply(*tick);
  }

  // Decides each probe event with `engine` and describes the outcome.
  static std::vector<std::string> Decisions(const Engine& engine) {
    std::vector<std::string> out;
    DecodeOptions o;
    o.now = T("2100-01-01T00:00:00Z");
    o.require_seq = false;
    for (const std::string& text :
         {Fix("1", "p1", "2016-08-13T20:50:00Z", "[-0.026769491892293,51.456018429508376]"),
          Fix("2", "p2", "2016-08-13T20:50:00Z", "[-0.095,51.505]"),
          Fix("2", "p3", "2016-08-13T20:51:00Z", "[-0.05,51.4705]"),
          Fix("3", "p4", "2016-08-13T20:50:00Z", "[-0.095,51.505]"),
          Check("1", "2016-08-13T20:55:00Z", "[-0.3,51.5]"),
          Check("2", "2016-08-13T20:55:00Z", "[-0.095,51.505]")}) {
      auto e = DecodeEvent(text, o);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (!e.ok()) continue;
      auto decided = engine.Decide(*e);
      EXPECT_TRUE(decided.ok()) << decided.status().ToString();
      if (!decided.ok()) continue;
      std::string d = decided->note;
      for (const auto& a : decided->alerts) d += "|" + AlertToJsonText(a);
      out.push_back(d);
    }
    auto tick = engine.Tick(T("2016-08-13T21:00:01Z"));
    EXPECT_TRUE(tick.ok());
    if (tick.ok()) out.push_back("tick " + std::to_string(tick->alerts.size()));
    return out;
  }

  static std::string AlertToJsonText(const Alert& a) {
    std::string s = std::string(AlertKindName(a.kind)) + " " + a.summary + " " + a.condition_id;
    for (const auto& r : a.recipients) s += " " + r;
    s += " " + boost::json::serialize(a.extra);
    return s;
  }
};

TEST_F(EngineSnapshotTest, ADecodedStateDecidesAsTheOriginalAndEncodesToTheSameBytes) {
  BuildHistory();
  const std::string bytes = EncodeEngineState(engine_.state());
  auto decoded = DecodeEngineState(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeEngineState(*decoded), bytes);

  ManualClock clock(T("2016-08-13T21:00:00Z"));
  Engine restored(clock, LondonBoroughs(), Policy{});
  restored.RestoreState(std::move(*decoded));
  EXPECT_EQ(restored.state().episodes.size(), engine_.state().episodes.size());
  EXPECT_FALSE(restored.state().episodes.empty());
  EXPECT_EQ(restored.state().last_fix.size(), engine_.state().last_fix.size());
  EXPECT_EQ(restored.state().instruments.size(), 3u);
  const auto original = Decisions(engine_);
  EXPECT_EQ(Decisions(restored), original);
  EXPECT_EQ(original.back(), "tick 0") << "the expiry warning is part of the state";
}

TEST_F(EngineSnapshotTest, AnEmptyStateRoundTrips) {
  const std::string bytes = EncodeEngineState(engine_.state());
  auto decoded = DecodeEngineState(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeEngineState(*decoded), bytes);
}

TEST_F(EngineSnapshotTest, TruncatedOrPaddedBytesAreRefused) {
  BuildHistory();
  const std::string bytes = EncodeEngineState(engine_.state());
  for (size_t n = 0; n < bytes.size(); n += 1 + n / 16) {
    EXPECT_FALSE(DecodeEngineState(std::string_view(bytes).substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeEngineState(bytes + '\0').ok());
}

}  // namespace
}  // namespace bw
