// The protected person's own device (protocol 9.3) through the real breachwatchd over ZeroMQ, in
// both security modes: a proximity breach and a panic reach the officers and control rooms the
// spec names; her location reaches control rooms only (live, alerts.since), is withheld from
// history.person of the subject, every disclosure names her in the audit log, and her own record
// needs a control-room role (mode curve).  Device data of a person nobody protects is unmatched.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kSubject[] = "PNC-79/123456X";
constexpr char kHer[] = "PNC-72/654321Y";
// She is in Lewisham (E09000023, its 014 MSOA centroid); the case is owned by Greenwich
// (E09000011); he is about 200 m north of her.
const char* kHerAt = "[-0.026769491892293,51.456018429508376]";
const char* kHimAt = "[-0.026769491892293,51.457818429508376]";

std::string GrantEvent() {
  return R"({"type":"instrument.granted","id":"grant-1","source":"court","seq":1,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":"DVPO/GR/2016/0007","kind":"dvpo",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01GR/777/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "safety_contacts":["IDVA-LW-03"],"valid_from":")" +
         Now(-3600) + R"(","valid_until":null,"conditions":[{"condition_id":"c7","kind":"proximity",
         "person":"PNC-72/654321Y","radius_m":500,"warning_m":1000}]}})";
}

std::string TagEvent(int seq, const std::string& type, const std::string& person,
                     const std::string& fields, int offset_s) {
  return R"({"type":")" + type + R"(","id":"t-)" + std::to_string(seq) +
         R"(","source":"em-provider","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(offset_s) + R"(","person_id":")" + person + R"(",)" + fields + "}";
}

bool Ok(const boost::json::object& reply) {
  return reply.contains("ok") && reply.at("ok").is_bool() && reply.at("ok").as_bool();
}

std::string ErrorCodeOf(const boost::json::object& reply) {
  if (!reply.contains("error")) return "";
  return std::string(reply.at("error").at("code").as_string());
}

bool AnyRowContains(const std::vector<std::string>& rows, const std::string& needle) {
  for (const auto& r : rows) {
    if (r.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& rows) {
  std::string out;
  for (const auto& r : rows) out += r + "\n";
  return out;
}

bool Carries(const boost::json::value& v, const char* key) {
  return boost::json::serialize(v).find(key) != std::string::npos;
}

// The next alert of `kind` on `sub`.
std::optional<boost::json::object> Next(zmq::socket_t& sub, const std::string& kind) {
  for (int i = 0; i < 10; ++i) {
    auto a = DaemonProcess::Receive(sub, milliseconds(5000));
    if (!a) return std::nullopt;
    if (a->at("kind").as_string() == kind) return a;
  }
  return std::nullopt;
}

// Runs in mode none (ipc) and mode curve (tcp, real keys).
class Proximity : public ::testing::TestWithParam<bool> {
 protected:
  Proximity() : d_(GetParam() ? Transport::kTcp : Transport::kIpc) {
    if (curve()) {
      d_.EnableCurve();
      oic_ = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
      contact_ = d_.AddClient("IDVA-LW-03", ClientRole::kOfficer);
      lewisham_ = d_.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
      greenwich_ = d_.AddClient("CR-GREENWICH", ClientRole::kControlRoom, {}, {"E09000011"});
    }
  }
  bool curve() const { return GetParam(); }

  // The order, handled before any tag event is sent (the feeds are separate sockets).
  void Grant() {
    d_.Publish("orders", GrantEvent());
    ASSERT_TRUE(Eventually([&] {
      auto s = d_.Call("status");
      return Ok(s) && s.at("counts").at("instruments").to_number<int64_t>() == 1;
    })) << d_.log();
  }

  std::unique_ptr<zmq::socket_t> Sub(const CurveClientKeys& keys, const std::string& topic) {
    return curve() ? d_.SubscribeAs(keys, topic) : d_.Subscribe(topic);
  }
  boost::json::object CallAs(const CurveClientKeys& keys, const std::string& officer,
                             const std::string& op, boost::json::object body) {
    body["officer_id"] = officer;
    return curve() ? d_.CallAs(keys, op, body) : d_.Call(op, body);
  }

  DaemonProcess d_;
  CurveClientKeys oic_, contact_, lewisham_, greenwich_;
};

TEST_P(Proximity, BreachReachesOfficersWithoutHerLocationAndControlRoomsWithIt) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto oic = Sub(oic_, "officer/MP-PC1234/");
  auto contact = Sub(contact_, "officer/IDVA-LW-03/");
  auto her_area = Sub(lewisham_, "control/E09000023/");
  auto owning = Sub(greenwich_, "control/E09000011/");
  std::this_thread::sleep_for(milliseconds(300));

  Grant();
  d_.Publish("tag", TagEvent(1, "victim.position", kHer,
                             R"("device_id":"APP-7","at":)" + std::string(kHerAt) +
                                 R"(,"accuracy_m":20)",
                             -60));
  d_.Publish("tag", TagEvent(2, "tag.position", kSubject,
                             R"("device_id":"TAG-0042","at":)" + std::string(kHimAt) +
                                 R"(,"accuracy_m":10)",
                             -50));

  for (auto* officer : {oic.get(), contact.get()}) {
    auto a = Next(*officer, "proximity_breach");
    ASSERT_TRUE(a.has_value()) << d_.log();
    EXPECT_EQ(a->at("copy").as_string(), "officer");
    EXPECT_EQ(a->at("severity").as_string(), "critical");
    EXPECT_EQ(a->at("protected_person_id").as_string(), kHer);
    EXPECT_NEAR(a->at("distance_m").to_number<double>(), 200, 2);
    EXPECT_FALSE(Carries(*a, "protected_person_location")) << boost::json::serialize(*a);
    EXPECT_FALSE(Carries(a->at("recipients"), "control/")) << boost::json::serialize(*a);
    // Its location is his fix.
    EXPECT_NEAR(a->at("location").at("at").as_array()[1].to_number<double>(), 51.4578, 1e-4);
  }
  for (auto* control : {her_area.get(), owning.get()}) {
    auto a = Next(*control, "proximity_breach");
    ASSERT_TRUE(a.has_value()) << d_.log();
    EXPECT_EQ(a->at("copy").as_string(), "control");
    const auto& loc = a->at("protected_person_location").as_object();
    EXPECT_NEAR(loc.at("at").as_array()[1].to_number<double>(), 51.456018, 1e-6);
    EXPECT_FALSE(Carries(a->at("recipients"), "officer/")) << boost::json::serialize(*a);
  }

  // Every disclosure of her location names her in the audit log.
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("alert.proximity_breach"),
                          std::string(kSubject) + "," + kHer + "|ok|");
  })) << Join(d_.AuditRows("alert.proximity_breach"));

  // history.person of the subject (for court) keeps the breach but withholds her location.
  auto history = CallAs(greenwich_, "CR-GREENWICH", "history.person", {{"person_id", kSubject}});
  ASSERT_TRUE(Ok(history)) << boost::json::serialize(history);
  EXPECT_TRUE(Carries(history, "proximity_breach"));
  EXPECT_FALSE(Carries(history, "protected_person_location\"")) << boost::json::serialize(history);
  EXPECT_TRUE(Carries(history, "protected_person_location_withheld"));
  // conditions.person of the subject carries no position of hers.
  auto conditions =
      CallAs(greenwich_, "CR-GREENWICH", "conditions.person", {{"person_id", kSubject}});
  ASSERT_TRUE(Ok(conditions)) << boost::json::serialize(conditions);
  EXPECT_FALSE(Carries(conditions, "51.456018")) << boost::json::serialize(conditions);
}

TEST_P(Proximity, AlertsSinceShowsHerLocationToControlRoomsOnly) {
  if (!curve()) GTEST_SKIP() << "mode none has no identities: alerts.since shows everything";
  ASSERT_TRUE(d_.Start()) << d_.log();
  Grant();
  d_.Publish("tag", TagEvent(1, "victim.position", kHer,
                             R"("device_id":"APP-7","at":)" + std::string(kHerAt) +
                                 R"(,"accuracy_m":20)",
                             -60));
  d_.Publish("tag", TagEvent(2, "tag.position", kSubject,
                             R"("device_id":"TAG-0042","at":)" + std::string(kHimAt) +
                                 R"(,"accuracy_m":10)",
                             -50));
  ASSERT_TRUE(Eventually([&] { return d_.AlertsSince(0).size() >= 2; })) << d_.log();

  auto officer = d_.CallAs(oic_, "alerts.since", {{"officer_id", "MP-PC1234"}, {"seq", 0}});
  ASSERT_TRUE(Ok(officer)) << boost::json::serialize(officer);
  ASSERT_FALSE(officer.at("alerts").as_array().empty());
  EXPECT_FALSE(Carries(officer, "protected_person_location")) << boost::json::serialize(officer);

  auto control = d_.CallAs(lewisham_, "alerts.since", {{"officer_id", "CR-LEWISHAM"}, {"seq", 0}});
  ASSERT_TRUE(Ok(control)) << boost::json::serialize(control);
  EXPECT_TRUE(Carries(control, "protected_person_location")) << boost::json::serialize(control);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("alerts.since"),
                          "CR-LEWISHAM|" + std::string(kHer) + "|ok|");
  })) << Join(d_.AuditRows("alerts.since"));
}

TEST_P(Proximity, HerOwnRecordNeedsAControlRoomRole) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  Grant();
  auto by_control = CallAs(lewisham_, "CR-LEWISHAM", "history.person", {{"person_id", kHer}});
  EXPECT_TRUE(Ok(by_control)) << boost::json::serialize(by_control);
  if (!curve()) return;  // no roles in mode none
  auto by_officer = CallAs(oic_, "MP-PC1234", "history.person", {{"person_id", kHer}});
  EXPECT_EQ(ErrorCodeOf(by_officer), "forbidden") << boost::json::serialize(by_officer);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("history.person"),
                          "MP-PC1234|" + std::string(kHer) + "|forbidden|");
  })) << Join(d_.AuditRows("history.person"));
  // The subject's own history is an officer's to read.
  EXPECT_TRUE(Ok(CallAs(oic_, "MP-PC1234", "history.person", {{"person_id", kSubject}})));
  // An administrator key acting for an officer (the console for an officer user) may not read
  // hers either; acting for a control-room user (naming its control id) it may.
  auto console_for_officer =
      CallAs(d_.admin_keys(), "MP-PC1234", "history.person", {{"person_id", kHer}});
  EXPECT_EQ(ErrorCodeOf(console_for_officer), "forbidden")
      << boost::json::serialize(console_for_officer);
  EXPECT_TRUE(Ok(CallAs(d_.admin_keys(), "CR-LEWISHAM", "history.person",
                        {{"person_id", kHer}, {"control_id", "E09000023"}})));
}

TEST_P(Proximity, PanicGoesToTheCaseOfficersAndControlRoomsAndUnprotectedIsUnmatched) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto oic = Sub(oic_, "officer/MP-PC1234/");
  auto her_area = Sub(lewisham_, "control/E09000023/");
  auto owning = Sub(greenwich_, "control/E09000011/");
  std::this_thread::sleep_for(milliseconds(300));
  Grant();
  d_.Publish("tag", TagEvent(1, "tag.position", kSubject,
                             R"("device_id":"TAG-0042","at":)" + std::string(kHimAt) +
                                 R"(,"accuracy_m":10)",
                             -600));
  d_.Publish("tag", TagEvent(2, "victim.panic", kHer,
                             R"("device_id":"FOB-3","at":)" + std::string(kHerAt), -5));

  auto officer = Next(*oic, "victim_panic");
  ASSERT_TRUE(officer.has_value()) << d_.log();
  EXPECT_EQ(officer->at("copy").as_string(), "officer");
  EXPECT_EQ(officer->at("person_id").as_string(), kSubject);
  EXPECT_FALSE(officer->at("in_custody").as_bool());
  EXPECT_TRUE(officer->at("subject_fix").is_object()) << boost::json::serialize(*officer);
  EXPECT_FALSE(Carries(*officer, "protected_person_location"));
  for (auto* control : {her_area.get(), owning.get()}) {
    auto a = Next(*control, "victim_panic");
    ASSERT_TRUE(a.has_value()) << d_.log();
    EXPECT_TRUE(a->at("protected_person_location").as_object().contains("at"));
  }

  // A device nobody's order stands behind: stored, unmatched_tag_event to the control room.
  d_.Publish("tag", TagEvent(3, "victim.panic", "PNC-11/111111A",
                             R"("device_id":"FOB-9","at":)" + std::string(kHerAt), -1));
  auto unmatched = Next(*her_area, "unmatched_tag_event");
  ASSERT_TRUE(unmatched.has_value()) << d_.log();
  EXPECT_EQ(unmatched->at("person_id").as_string(), "PNC-11/111111A");
}

INSTANTIATE_TEST_SUITE_P(BothSecurityModes, Proximity, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Curve" : "None"; });

}  // namespace
}  // namespace bw::testing
