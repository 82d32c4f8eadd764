// Regression (issue 12, defect 3): any officer could acknowledge or resolve anyone's alert.
// Officer B acked and resolved as false_alarm a critical alert sent only to others (its id came
// from history.person), which stopped its escalation.  Only a recipient of the alert, the
// supervisor of its instrument or a control room that received it may ack or resolve
// (handlers/alerts/alert_authority.h); every refusal is answered "forbidden" and audited, and the
// alert stays as it was.  Both security modes: in mode "none" the claimed officer_id is taken at
// its word, in mode "curve" the authenticated key's role and identity decide.
#include <gtest/gtest.h>

#include <string>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

// Lewisham 014 MSOA population-weighted centroid (ONS).

// Bail excluding PNC-79/123456X from Lewisham (E09000023); OIC MP-PC1234, supervisor MP-DS0077,
// owning control room E09000011.
boost::json::object Grant() {
  return boost::json::parse(
             R"({"type":"instrument.granted","id":"grant-1","source":"custody-lewisham","seq":1,
         "time":")" + Now(-3600) +
             R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "offence":"common assault","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "valid_from":")" + Now(-3600) +
             R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})")
      .as_object();
}

// A check in Lewisham by MP-PC5555: a critical exclusion_zone_breach to MP-PC5555, MP-PC1234 and
// the control rooms E09000023 (the area) and E09000011 (owning).
boost::json::object Check() {
  return boost::json::parse(R"({"type":"check.person","id":"chk-1","source":"checks-met","seq":1,
         "time":")" + Now() +
                            R"(","person_id":"PNC-79/123456X","officer_id":"MP-PC5555","at":)" +
                            kInLewishamText + "}")
      .as_object();
}

bool Ok(const boost::json::object& reply) {
  return reply.contains("ok") && reply.at("ok").is_bool() && reply.at("ok").as_bool();
}

std::string ErrorCodeOf(const boost::json::object& reply) {
  if (!reply.contains("error")) return reply.contains("transport_error") ? "transport" : "";
  return std::string(reply.at("error").at("code").as_string());
}

int RowsContaining(const std::vector<std::string>& rows, const std::string& needle) {
  int n = 0;
  for (const auto& r : rows) n += r.find(needle) != std::string::npos;
  return n;
}

// The breach's id from an event.submit reply.
std::string BreachId(const boost::json::object& submitted) {
  if (!submitted.contains("alerts")) return "";
  for (const auto& a : submitted.at("alerts").as_array()) {
    if (a.at("kind").as_string() == "exclusion_zone_breach") {
      return std::string(a.at("alert_id").as_string());
    }
  }
  return "";
}

// The alert as alerts.open shows it (acked state), or null when it is no longer open.
std::optional<boost::json::object> OpenAlert(DaemonProcess& d, const std::string& id) {
  auto open = d.Call("alerts.open", {{"officer_id", "MP-DS0077"}, {"reason", "test"}});
  if (!Ok(open)) return std::nullopt;
  for (const auto& a : open.at("alerts").as_array()) {
    if (a.at("alert_id").as_string() == id) return a.as_object();
  }
  return std::nullopt;
}

TEST(AlertAuthority, OfficerNotSentTheAlertCannotAckOrResolveItModeNone) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(Ok(d.Call("event.submit", {{"event", Grant()}})));
  auto submitted = d.Call("event.submit", {{"event", Check()}});
  const std::string id = BreachId(submitted);
  ASSERT_FALSE(id.empty()) << boost::json::serialize(submitted);

  // Officer B (not a recipient) and a control room that did not receive it are refused.
  for (const char* outsider : {"MP-PC9999", "E09000028"}) {
    auto ack = d.Call("alert.ack", {{"alert_id", id}, {"officer_id", outsider}});
    EXPECT_EQ(ErrorCodeOf(ack), "forbidden") << outsider << ": " << boost::json::serialize(ack);
    auto resolve = d.Call("alert.resolve",
                          {{"alert_id", id}, {"officer_id", outsider}, {"outcome", "false_alarm"}});
    EXPECT_EQ(ErrorCodeOf(resolve), "forbidden")
        << outsider << ": " << boost::json::serialize(resolve);
  }
  auto still_open = OpenAlert(d, id);
  ASSERT_TRUE(still_open) << "the refused resolve closed the alert";
  EXPECT_FALSE(still_open->at("acked").as_bool()) << "the refused ack stopped its escalation";
  EXPECT_TRUE(Eventually([&] {
    return RowsContaining(d.AuditRows("alert.ack"), "MP-PC9999|PNC-79/123456X|forbidden") == 1 &&
           RowsContaining(d.AuditRows("alert.resolve"), "MP-PC9999|PNC-79/123456X|forbidden") ==
               1 &&
           RowsContaining(d.AuditRows("alert.ack"), "E09000028|PNC-79/123456X|forbidden") == 1;
  })) << "every refusal writes one audit record";

  // The instrument's supervisor may acknowledge; a control room that received it may resolve.
  auto ack = d.Call("alert.ack", {{"alert_id", id}, {"officer_id", "MP-DS0077"}});
  ASSERT_TRUE(Ok(ack)) << boost::json::serialize(ack);
  EXPECT_EQ(ack.at("alert").at("acked_by").as_string(), "MP-DS0077");
  auto resolved = d.Call("alert.resolve",
                         {{"alert_id", id}, {"officer_id", "E09000023"}, {"outcome", "warned"}});
  ASSERT_TRUE(Ok(resolved)) << boost::json::serialize(resolved);
  EXPECT_FALSE(OpenAlert(d, id));
}

TEST(AlertAuthority, OfficerNotSentTheAlertCannotAckOrResolveItModeCurve) {
  DaemonProcess d(Transport::kTcp);
  d.EnableCurve();
  CurveClientKeys oic = d.AddClient("MP-PC1234", ClientRole::kOfficer);
  CurveClientKeys other_officer = d.AddClient("MP-PC9999", ClientRole::kOfficer);
  CurveClientKeys southwark =
      d.AddClient("CR-SOUTHWARK", ClientRole::kControlRoom, {}, {"E09000028"});
  CurveClientKeys lewisham = d.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
  ASSERT_TRUE(d.Start()) << d.log();
  const CurveClientKeys& admin = d.admin_keys();
  ASSERT_TRUE(Ok(d.CallAs(admin, "event.submit", {{"event", Grant()}})));
  auto submitted = d.CallAs(admin, "event.submit", {{"event", Check()}});
  const std::string id = BreachId(submitted);
  ASSERT_FALSE(id.empty()) << boost::json::serialize(submitted);

  // An officer not sent it, a control room that did not receive it, an administrator acting for
  // nobody, and a control room acting for an officer who was not sent it: all refused.
  struct Attempt {
    const CurveClientKeys* keys;
    std::string key_name;
    std::string officer_id;
  };
  const Attempt refused[] = {{&other_officer, "MP-PC9999", "MP-PC9999"},
                             {&southwark, "CR-SOUTHWARK", "CR-SOUTHWARK"},
                             {&admin, "ADMIN-TEST", "ADMIN-TEST"},
                             {&southwark, "CR-SOUTHWARK", "MP-PC9999"}};
  for (const auto& a : refused) {
    auto ack = d.CallAs(*a.keys, "alert.ack", {{"alert_id", id}, {"officer_id", a.officer_id}});
    EXPECT_EQ(ErrorCodeOf(ack), "forbidden")
        << a.key_name << " as " << a.officer_id << ": " << boost::json::serialize(ack);
    auto resolve = d.CallAs(*a.keys, "alert.resolve",
                            {{"alert_id", id}, {"officer_id", a.officer_id}, {"outcome", "false_alarm"}});
    EXPECT_EQ(ErrorCodeOf(resolve), "forbidden")
        << a.key_name << " as " << a.officer_id << ": " << boost::json::serialize(resolve);
  }
  EXPECT_TRUE(Eventually([&] {
    return RowsContaining(d.AuditRows("alert.ack"), "|forbidden") == 4 &&
           RowsContaining(d.AuditRows("alert.resolve"), "|forbidden") == 4;
  })) << "every refusal writes one audit record";

  // The OIC (a recipient) acknowledges; the area's control room, which received it, resolves.
  auto ack = d.CallAs(oic, "alert.ack", {{"alert_id", id}, {"officer_id", "MP-PC1234"}});
  ASSERT_TRUE(Ok(ack)) << boost::json::serialize(ack);
  EXPECT_EQ(ack.at("alert").at("acked_by").as_string(), "MP-PC1234");
  auto resolved = d.CallAs(lewisham, "alert.resolve",
                           {{"alert_id", id}, {"officer_id", "CR-LEWISHAM"}, {"outcome", "warned"}});
  ASSERT_TRUE(Ok(resolved)) << boost::json::serialize(resolved);
  EXPECT_EQ(resolved.at("alert").at("outcome").as_string(), "warned");
}

}  // namespace
}  // namespace bw::testing
