// The proximity condition (protocol 9.3) decodes with its defaults, and each
// invalid one rejects the instrument naming the field.
#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "handlers/instruments/instrument.h"

namespace bw {
namespace {

Result<Instrument> WithCondition(const std::string& condition,
                                 const std::string& protected_persons = R"(["PNC-72/654321Y"])") {
  const std::string text = R"({"instrument_id":"DVPO/LW/2016/0007","kind":"dvpo",
      "subject":"PNC-79/123456X","protected_persons":)" +
                           protected_persons + R"(,"oic":"MP-PC1234",
      "owning_control":"E09000023","valid_from":"2016-05-10T14:00:00Z","valid_until":null,
      "conditions":[)" + condition + "]}";
  return DecodeInstrument(boost::json::parse(text).as_object(), "instrument");
}

TEST(ProximityCondition, DecodesWithTheSpecDefaults) {
  auto ins = WithCondition(R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y"})");
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  ASSERT_EQ(ins->conditions.size(), 1u);
  const Condition& c = ins->conditions[0];
  EXPECT_EQ(c.kind, ConditionKind::kProximity);
  EXPECT_STREQ(ConditionKindName(c.kind), "proximity");
  EXPECT_EQ(c.person, "PNC-72/654321Y");
  EXPECT_DOUBLE_EQ(c.proximity_radius_m, 500);
  EXPECT_DOUBLE_EQ(c.proximity_warning_m, 1000);
  // Found by the proximity handler, ruled out by the place rules of a fix.
  EXPECT_EQ(c.prefilter.kind, FixPrefilter::Kind::kProximity);
}

TEST(ProximityCondition, DecodesGivenDistances) {
  auto ins = WithCondition(R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
      "radius_m":300,"warning_m":300})");
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  EXPECT_DOUBLE_EQ(ins->conditions[0].proximity_radius_m, 300);
  EXPECT_DOUBLE_EQ(ins->conditions[0].proximity_warning_m, 300);
}

TEST(ProximityCondition, AbsentWarningDistanceIsNeverBelowTheRadius) {
  auto ins = WithCondition(
      R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y","radius_m":2000})");
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  EXPECT_DOUBLE_EQ(ins->conditions[0].proximity_warning_m, 2000);
}

struct BadProximity {
  const char* what;
  const char* condition;
  const char* field;
};

class ProximityConditionRejected : public ::testing::TestWithParam<BadProximity> {};

TEST_P(ProximityConditionRejected, NamesTheField) {
  auto ins = WithCondition(GetParam().condition);
  ASSERT_FALSE(ins.ok());
  EXPECT_EQ(ins.status().field(), GetParam().field) << ins.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    EveryField, ProximityConditionRejected,
    ::testing::Values(
        BadProximity{"WithoutPerson", R"({"condition_id":"c7","kind":"proximity"})",
                     "instrument.conditions[0].person"},
        BadProximity{"PersonNotProtected",
                     R"({"condition_id":"c7","kind":"proximity","person":"PNC-99/000000Z"})",
                     "instrument.conditions[0].person"},
        BadProximity{"RadiusZero",
                     R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
                        "radius_m":0})",
                     "instrument.conditions[0].radius_m"},
        BadProximity{"RadiusNotANumber",
                     R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
                        "radius_m":"500"})",
                     "instrument.conditions[0].radius_m"},
        BadProximity{"WarningBelowRadius",
                     R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
                        "radius_m":500,"warning_m":400})",
                     "instrument.conditions[0].warning_m"},
        BadProximity{"WarningTooFar",
                     R"({"condition_id":"c7","kind":"proximity","person":"PNC-72/654321Y",
                        "warning_m":100001})",
                     "instrument.conditions[0].warning_m"}),
    [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace bw
