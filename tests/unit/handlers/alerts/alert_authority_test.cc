// Who may acknowledge or resolve an alert (handlers/alerts/alert_authority.h): recipients, the
// instrument's supervisor, and the control rooms the escalation has reached.
#include "handlers/alerts/alert_authority.h"

#include <gtest/gtest.h>

namespace bw {
namespace {

Alert BreachSentTo(std::vector<std::string> recipients) {
  Alert a;
  a.kind = AlertKind::kExclusionZoneBreach;
  a.severity = Severity::kHigh;
  a.recipients = std::move(recipients);
  a.location_areas = {"E09000023"};
  return a;
}

const AlertChangeContext kNotEscalated{0, "MP-DS0077", "E09000011"};

TEST(AlertAuthority, RecipientsAndTheSupervisorMayChangeTheAlert) {
  const Alert a = BreachSentTo({OfficerTopic("MP-PC1234"), ControlTopic("E09000023")});
  EXPECT_TRUE(MayChangeAlert(a, kNotEscalated, {OfficerTopic("MP-PC1234")}));
  EXPECT_TRUE(MayChangeAlert(a, kNotEscalated, {ControlTopic("E09000023")}));
  EXPECT_TRUE(MayChangeAlert(a, kNotEscalated, {OfficerTopic("MP-DS0077")})) << "supervisor";
}

TEST(AlertAuthority, AnOfficerOrControlRoomNotSentTheAlertMayNot) {
  const Alert a = BreachSentTo({OfficerTopic("MP-PC1234")});
  EXPECT_FALSE(MayChangeAlert(a, kNotEscalated, {OfficerTopic("MP-PC9999")}));
  EXPECT_FALSE(MayChangeAlert(a, kNotEscalated, {ControlTopic("E09000028")}));
  EXPECT_FALSE(MayChangeAlert(a, kNotEscalated, {})) << "an actor answering for nobody";
  EXPECT_FALSE(MayChangeAlert(a, kNotEscalated, {""})) << "an empty topic matches nothing";
  // An officer id that is a prefix of a recipient's is someone else.
  EXPECT_FALSE(MayChangeAlert(a, kNotEscalated, {OfficerTopic("MP-PC123")}));
}

TEST(AlertAuthority, OwningAndAreaControlRoomsMayOnceTheEscalationReachedThem) {
  const Alert a = BreachSentTo({OfficerTopic("MP-PC1234")});
  for (const char* room : {"E09000011", "E09000023"}) {
    EXPECT_FALSE(MayChangeAlert(a, {1, "MP-DS0077", "E09000011"}, {ControlTopic(room)}))
        << room << " has not received it at level 1";
    EXPECT_TRUE(MayChangeAlert(a, {2, "MP-DS0077", "E09000011"}, {ControlTopic(room)}))
        << room << " received it at level 2";
  }
}

TEST(AlertAuthority, EntitledTopicsListEachOnceAndSkipUnknownIds) {
  const Alert a = BreachSentTo({OfficerTopic("MP-DS0077"), ControlTopic("E09000011")});
  EXPECT_EQ(TopicsMayChangeAlert(a, {2, "MP-DS0077", "E09000011"}),
            (std::vector<std::string>{OfficerTopic("MP-DS0077"), ControlTopic("E09000011"),
                                      ControlTopic("E09000023")}));
  EXPECT_EQ(TopicsMayChangeAlert(BreachSentTo({}), {0, "", ""}), std::vector<std::string>{});
}

}  // namespace
}  // namespace bw
