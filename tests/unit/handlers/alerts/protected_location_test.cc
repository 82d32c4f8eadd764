// The protected person's location (protocol 9.3): found, redacted for a query
// about the subject, and named in the disclosure audit row.
#include "handlers/alerts/protected_location.h"

#include <gtest/gtest.h>

#include "handlers/audit/audit_records.h"

namespace bw {
namespace {

Alert ControlCopy() {
  Alert a;
  a.kind = AlertKind::kProximityBreach;
  a.alert_id = "01J-P";
  a.seq = 12;
  a.person_id = "PNC-79/123456X";
  a.recipients = {"control/E09000023/"};
  a.extra[kAlertCopyKey] = "control";
  a.extra[kProtectedPersonLocationKey] = {{"person_id", "PNC-72/654321Y"},
                                          {"at", boost::json::array{-0.02, 51.45}}};
  return a;
}

TEST(ProtectedLocation, FoundInTheControlCopyOnly) {
  Alert control = ControlCopy();
  EXPECT_EQ(ProtectedPersonLocated(control), "PNC-72/654321Y");
  Alert officer = control;
  officer.extra.erase(kProtectedPersonLocationKey);
  EXPECT_EQ(ProtectedPersonLocated(officer), "");
  boost::json::array payloads{AlertToJson(control), AlertToJson(officer), AlertToJson(control)};
  EXPECT_EQ(ProtectedPersonsLocated(payloads), std::vector<std::string>{"PNC-72/654321Y"});
}

TEST(ProtectedLocation, RedactionRemovesHerPositionAndSaysSo) {
  boost::json::object payload = AlertToJson(ControlCopy());
  EXPECT_TRUE(RedactProtectedPersonLocation(&payload));
  EXPECT_FALSE(payload.contains(kProtectedPersonLocationKey));
  EXPECT_EQ(payload.at("protected_person_location_withheld"), true);
  EXPECT_EQ(boost::json::serialize(payload).find("51.45"), std::string::npos);
  EXPECT_FALSE(RedactProtectedPersonLocation(&payload));
}

TEST(ProtectedLocation, DisclosureAuditNamesHer) {
  AuditRecord d = DisclosureAudit(ControlCopy());
  EXPECT_EQ(d.subjects, "PNC-79/123456X,PNC-72/654321Y");
  EXPECT_NE(d.detail.find("protected person PNC-72/654321Y"), std::string::npos) << d.detail;
  Alert officer = ControlCopy();
  officer.extra.erase(kProtectedPersonLocationKey);
  EXPECT_EQ(DisclosureAudit(officer).subjects, "PNC-79/123456X");
}

}  // namespace
}  // namespace bw
