// The `risk` of an instrument (protocol 9.2): every field optional, each wrong
// one refused with an error naming it, markers kept as given, and the rule
// that makes a case high risk.
#include "handlers/instruments/risk.h"

#include <gtest/gtest.h>

#include <string>

#include "handlers/base/time_util.h"
#include "handlers/wire/event.h"

namespace bw {
namespace {

Result<std::optional<Risk>> Decode(const std::string& risk_json) {
  boost::json::object ins{{"risk", boost::json::parse(risk_json)}};
  return DecodeRisk(ins, "instrument");
}

TEST(RiskTest, TheSpecExampleDecodesWithEveryField) {
  auto r = Decode(R"({ "level": "high", "tool": "DARA", "assessed_at": "2016-08-10T12:00:00Z",
          "marac": true, "mappa_level": 0, "markers": ["VI", "WE", "XX"], "dvds_disclosed": false })");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const Risk& risk = **r;
  EXPECT_EQ(risk.level, "high");
  EXPECT_EQ(risk.tool, "DARA");
  EXPECT_EQ(risk.assessed_at, ParseRfc3339("2016-08-10T12:00:00Z"));
  EXPECT_EQ(risk.marac, true);
  EXPECT_EQ(risk.mappa_level, 0);
  EXPECT_EQ(risk.markers, (std::vector<std::string>{"VI", "WE", "XX"})) << "unknown kept as given";
  EXPECT_EQ(risk.dvds_disclosed, false);
  EXPECT_EQ(risk.raw.at("tool").as_string(), "DARA");
}

TEST(RiskTest, AbsentNullAndEmptyAreAllowed) {
  boost::json::object none;
  auto absent = DecodeRisk(none, "instrument");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto null = Decode("null");
  ASSERT_TRUE(null.ok());
  EXPECT_FALSE(null->has_value());
  auto empty = Decode("{}");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_FALSE(IsHighRisk(**empty));
}

struct BadRisk {
  const char* name;
  const char* json;
  const char* field;
};

class BadRiskTest : public ::testing::TestWithParam<BadRisk> {};

TEST_P(BadRiskTest, IsRefusedNamingTheField) {
  auto r = Decode(GetParam().json);
  ASSERT_FALSE(r.ok()) << GetParam().json;
  EXPECT_EQ(r.status().code(), ErrorCode::kBadInput);
  EXPECT_EQ(r.status().field(), GetParam().field) << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    EveryField, BadRiskTest,
    ::testing::Values(
        BadRisk{"NotAnObject", R"("high")", "instrument.risk"},
        BadRisk{"UnknownLevel", R"({"level":"very high"})", "instrument.risk.level"},
        BadRisk{"LevelNotAString", R"({"level":3})", "instrument.risk.level"},
        BadRisk{"MaracNotABool", R"({"marac":"yes"})", "instrument.risk.marac"},
        BadRisk{"MappaAbove3", R"({"mappa_level":4})", "instrument.risk.mappa_level"},
        BadRisk{"MappaNegative", R"({"mappa_level":-1})", "instrument.risk.mappa_level"},
        BadRisk{"MappaNotAnInteger", R"({"mappa_level":1.5})", "instrument.risk.mappa_level"},
        BadRisk{"MarkersNotAnArray", R"({"markers":"VI"})", "instrument.risk.markers"},
        BadRisk{"MarkerNotAString", R"({"markers":["VI",7]})", "instrument.risk.markers[1]"},
        BadRisk{"ToolNotAString", R"({"tool":1})", "instrument.risk.tool"},
        BadRisk{"AssessedAtNotATime", R"({"assessed_at":"10 Aug 2016"})",
                "instrument.risk.assessed_at"},
        BadRisk{"DvdsNotABool", R"({"dvds_disclosed":1})", "instrument.risk.dvds_disclosed"}),
    [](const ::testing::TestParamInfo<BadRisk>& info) { return std::string(info.param.name); });

TEST(RiskTest, HighRiskIsLevelHighOrMaracOrMappaTwoAndAbove) {
  auto high = [](const char* json) {
    auto r = Decode(json);
    EXPECT_TRUE(r.ok() && r->has_value()) << json;
    return r.ok() && r->has_value() && IsHighRisk(**r);
  };
  EXPECT_TRUE(high(R"({"level":"high"})"));
  EXPECT_TRUE(high(R"({"level":"standard","marac":true})"));
  EXPECT_TRUE(high(R"({"mappa_level":2})"));
  EXPECT_TRUE(high(R"({"mappa_level":3})"));
  EXPECT_FALSE(high(R"({"level":"medium","marac":false,"mappa_level":1})"));
  EXPECT_FALSE(high(R"({"markers":["FI"]})")) << "markers alone do not make a case high risk";
}

TEST(RiskTest, AnInstrumentWithABadRiskIsRefusedWhole) {
  const std::string text = R"({"type":"instrument.granted","id":"g1","source":"court",
      "time":"2016-05-10T14:00:00Z","instrument":{"instrument_id":"DVPO/1","kind":"dvpo",
      "subject":"PNC-79/123456X","oic":"MP-PC1234","owning_control":"E09000023",
      "valid_from":"2016-05-10T14:00:00Z","valid_until":null,"conditions":[],
      "risk":{"level":"high","mappa_level":7}}})";
  DecodeOptions o;
  o.now = *ParseRfc3339("2016-05-10T14:00:00Z");
  o.require_seq = false;
  auto e = DecodeEvent(text, o);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().field(), "instrument.risk.mappa_level") << e.status().ToString();
}

}  // namespace
}  // namespace bw
