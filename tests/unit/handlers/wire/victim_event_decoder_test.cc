// victim.position and victim.panic (protocol 9.3) decode from the tag feed, and
// each malformed one is rejected naming the field.
#include <gtest/gtest.h>

#include <string>

#include "handlers/base/time_util.h"
#include "handlers/wire/event.h"

namespace bw {
namespace {

DecodeOptions Options() {
  DecodeOptions o;
  o.now = *ParseRfc3339("2016-08-13T21:00:00Z");
  return o;
}

std::string Envelope(const std::string& type, const std::string& payload) {
  return R"({"id":"v-1","source":"em-provider","seq":9,"type":")" + type +
         R"(","time":"2016-08-13T20:14:05Z")" + (payload.empty() ? "" : "," + payload) + "}";
}

TEST(VictimEventDecoder, DecodesVictimPositionOnTheTagFeed) {
  auto e = DecodeEvent(Envelope("victim.position", R"("person_id":"PNC-72/654321Y",
      "device_id":"APP-7","at":[-0.0205,51.4452],"accuracy_m":25)"),
                       Options());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kVictimPosition);
  EXPECT_STREQ(FeedOfEventType(e->type), "tag");
  EXPECT_STREQ(EventTypeName(e->type), "victim.position");
  EXPECT_EQ(e->person_id, "PNC-72/654321Y");
  EXPECT_EQ(e->device_id, "APP-7");
  ASSERT_TRUE(e->location.at);
  EXPECT_DOUBLE_EQ(e->location.at->x(), -0.0205);
  EXPECT_DOUBLE_EQ(e->location.at->y(), 51.4452);
  EXPECT_DOUBLE_EQ(e->accuracy_m, 25);
}

TEST(VictimEventDecoder, DecodesVictimPanicWithAndWithoutAPosition) {
  auto with = DecodeEvent(Envelope("victim.panic", R"("person_id":"PNC-72/654321Y",
      "device_id":"FOB-3","at":[-0.0205,51.4452],"accuracy_m":40)"),
                          Options());
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->type, EventType::kVictimPanic);
  EXPECT_STREQ(FeedOfEventType(with->type), "tag");
  ASSERT_TRUE(with->location.at);
  EXPECT_DOUBLE_EQ(with->accuracy_m, 40);

  auto without = DecodeEvent(
      Envelope("victim.panic", R"("person_id":"PNC-72/654321Y","device_id":"FOB-3")"), Options());
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_FALSE(without->location.at.has_value());
}

struct BadVictimEvent {
  const char* what;
  const char* type;
  const char* payload;
  const char* field;
};

class VictimEventRejected : public ::testing::TestWithParam<BadVictimEvent> {};

TEST_P(VictimEventRejected, NamesTheField) {
  const BadVictimEvent& c = GetParam();
  auto e = DecodeEvent(Envelope(c.type, c.payload), Options());
  ASSERT_FALSE(e.ok()) << c.what;
  EXPECT_EQ(e.status().field(), c.field) << e.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    EveryField, VictimEventRejected,
    ::testing::Values(
        BadVictimEvent{"PositionWithoutPerson", "victim.position",
                       R"("device_id":"APP-7","at":[0,51],"accuracy_m":5)", "person_id"},
        BadVictimEvent{"PositionWithoutDevice", "victim.position",
                       R"("person_id":"P","at":[0,51],"accuracy_m":5)", "device_id"},
        BadVictimEvent{"PositionWithoutAt", "victim.position",
                       R"("person_id":"P","device_id":"APP-7","accuracy_m":5)", "at"},
        BadVictimEvent{"PositionLatitudeOutOfRange", "victim.position",
                       R"("person_id":"P","device_id":"APP-7","at":[0,91],"accuracy_m":5)", "at"},
        BadVictimEvent{"PositionWithoutAccuracy", "victim.position",
                       R"("person_id":"P","device_id":"APP-7","at":[0,51])", "accuracy_m"},
        BadVictimEvent{"PositionNegativeAccuracy", "victim.position",
                       R"("person_id":"P","device_id":"APP-7","at":[0,51],"accuracy_m":-1)",
                       "accuracy_m"},
        BadVictimEvent{"PanicWithoutPerson", "victim.panic", R"("device_id":"FOB-3")",
                       "person_id"},
        BadVictimEvent{"PanicWithoutDevice", "victim.panic", R"("person_id":"P")", "device_id"},
        BadVictimEvent{"PanicAtNotAPoint", "victim.panic",
                       R"("person_id":"P","device_id":"FOB-3","at":"home")", "at"},
        BadVictimEvent{"PanicAccuracyMistyped", "victim.panic",
                       R"("person_id":"P","device_id":"FOB-3","at":[0,51],"accuracy_m":"5")",
                       "accuracy_m"}),
    [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace bw
