// Transport security (security.mode "curve", docs/security.md): the real breachwatchd with real
// CURVE keys (zmq_curve_keypair) on TCP.  An allow-listed client works; an unknown key, a client
// without CURVE and a client holding the wrong server key are refused and the refusal is
// audited; a dead ZAP handler lets nobody in; roles limit what identities may ask and receive;
// a revoked key's next connection is refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

// Lewisham 014 MSOA population-weighted centroid (ONS).

// Bail with a Lewisham exclusion zone; OIC MP-PC1234, owning control E09000011.
std::string Grant(int seq) {
  return R"({"type":"instrument.granted","id":"grant-)" + std::to_string(seq) +
         R"(","source":"custody-lewisham","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "offence":"common assault","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "valid_from":")" +
         Now(-3600) +
         R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})";
}

// A check in Lewisham by MP-PC5555: a critical breach to MP-PC5555, MP-PC1234, control rooms
// E09000023 and E09000011.
std::string Check(int seq) {
  return R"({"type":"check.person","id":"chk-)" + std::to_string(seq) +
         R"(","source":"checks-met","seq":)" + std::to_string(seq) + R"(,"time":")" + Now() +
         R"(","person_id":"PNC-79/123456X","officer_id":"MP-PC5555","at":)" + kInLewishamText + "}";
}

bool Ok(const boost::json::object& reply) {
  return reply.contains("ok") && reply.at("ok").is_bool() && reply.at("ok").as_bool();
}

std::string ErrorCodeOf(const boost::json::object& reply) {
  if (!reply.contains("error")) return reply.contains("transport_error") ? "transport" : "";
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

class Security : public ::testing::Test {
 protected:
  Security() : d_(Transport::kTcp) { d_.EnableCurve(); }
  DaemonProcess d_;
};

TEST_F(Security, AllowListedClientIsServedAndIsTheAuditedActor) {
  CurveClientKeys officer = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto reply = d_.CallAs(officer, "status", {{"officer_id", "MP-PC1234"}});
  ASSERT_TRUE(Ok(reply)) << boost::json::serialize(reply) << d_.log();
  EXPECT_EQ(reply.at("security").at("mode").as_string(), "curve");
  EXPECT_TRUE(reply.at("security").at("serving").as_bool());
  EXPECT_EQ(reply.at("security").at("server_public_key").as_string(), d_.server_public_key());
  EXPECT_TRUE(Eventually([&] { return AnyRowContains(d_.AuditRows("status"), "MP-PC1234|"); }))
      << Join(d_.AuditRows("status"));
}

TEST_F(Security, UnknownKeyIsRefusedAndAudited) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  CurveClientKeys stranger = d_.UnknownClient();
  auto reply = d_.CallAs(stranger, "status", {}, 1500);
  EXPECT_EQ(ErrorCodeOf(reply), "transport") << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("auth.refused"), "client key " + stranger.public_key);
  })) << Join(d_.AuditRows("auth.refused"))
      << d_.log();
  EXPECT_TRUE(AnyRowContains(d_.AuditRows("auth.refused"), "unknown client key"));
  EXPECT_TRUE(AnyRowContains(d_.AuditRows("auth.refused"), "|control|"));
}

TEST_F(Security, ClientWithoutCurveIsRefusedAndAudited) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto reply = d_.CallAs(CurveClientKeys{}, "status", {}, 1500);
  EXPECT_EQ(ErrorCodeOf(reply), "transport") << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    // Whichever side notices the mismatch first: the daemon (mechanism mismatch) or the client,
    // which hangs up (the daemon sees a handshake that did not complete).
    const auto rows = d_.AuditRows("auth.handshake_failed");
    return AnyRowContains(rows, "mechanism mismatch") ||
           AnyRowContains(rows, "handshake did not complete");
  })) << Join(d_.AuditRows("auth.handshake_failed"))
      << d_.log();
}

TEST_F(Security, ClientHoldingTheWrongServerKeyIsRefusedAndAudited) {
  CurveClientKeys officer = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
  ASSERT_TRUE(d_.Start()) << d_.log();
  CurveClientKeys wrong = officer;
  wrong.server_public = d_.UnknownClient().public_key;  // some other server's key
  auto reply = d_.CallAs(wrong, "status", {{"officer_id", "MP-PC1234"}}, 1500);
  EXPECT_EQ(ErrorCodeOf(reply), "transport") << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("auth.handshake_failed"), "cryptographic error");
  })) << Join(d_.AuditRows("auth.handshake_failed"))
      << d_.log();
}

void ExpectDeadZapHandlerLetsNobodyIn(DaemonProcess& d, const char* directive) {
  const std::string faults = d.dir() + "/faults";
  d.SetEnv("BREACHWATCH_FAULT_FILE", faults);
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(Ok(d.Call("status")));
  std::ofstream(faults) << directive << "\n";
  // Straight away, before the watchdog has noticed: the unknown key must not get in.
  CurveClientKeys stranger = d.UnknownClient();
  auto reply = d.CallAs(stranger, "status", {}, 3000);
  EXPECT_EQ(ErrorCodeOf(reply), "transport") << boost::json::serialize(reply) << d.log();
  // The daemon says it stopped serving, and nobody, allow-listed or not, is served.
  EXPECT_TRUE(Eventually([&] { return d.log().find("NOT SERVING") != std::string::npos; }))
      << d.log();
  EXPECT_EQ(ErrorCodeOf(d.CallAs(stranger, "status", {}, 1500)), "transport");
  EXPECT_EQ(ErrorCodeOf(d.CallAs(d.admin_keys(), "status", {}, 1500)), "transport");
  EXPECT_TRUE(Eventually([&] { return !d.AuditRows("security.not_serving").empty(); }));
}

TEST_F(Security, ZapHandlerThatExitsLetsNoUnknownKeyIn) {
  ExpectDeadZapHandlerLetsNobodyIn(d_, "zap_handler_exit");
}

TEST_F(Security, ZapHandlerThatHangsLetsNoUnknownKeyIn) {
  ExpectDeadZapHandlerLetsNobodyIn(d_, "zap_handler_hang");
}

TEST_F(Security, FeedKeyCannotQueryTheControlSocket) {
  CurveClientKeys feed = d_.AddClient("EM-PROVIDER", ClientRole::kFeed, {"tag"});
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto reply = d_.CallAs(feed, "status", {{"officer_id", "EM-PROVIDER"}}, 1500);
  EXPECT_FALSE(Ok(reply)) << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("auth.refused"), "a feed key may not use the control");
  })) << Join(d_.AuditRows("auth.refused"));
}

TEST_F(Security, OfficerActsOnlyAsThemselvesControlRoomMayActForOthers) {
  CurveClientKeys officer = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
  CurveClientKeys control =
      d_.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto reply = d_.CallAs(officer, "conditions.person",
                         {{"officer_id", "MP-PC9999"}, {"person_id", "PNC-79/123456X"}});
  EXPECT_EQ(ErrorCodeOf(reply), "forbidden") << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("conditions.person"), "MP-PC1234|PNC-79/123456X|forbidden") ||
           AnyRowContains(d_.AuditRows("conditions.person"), "MP-PC1234||forbidden");
  })) << Join(d_.AuditRows("conditions.person"));
  // Officers may not enter events by hand either.
  EXPECT_EQ(ErrorCodeOf(d_.CallAs(officer, "event.submit",
                                {{"officer_id", "MP-PC1234"},
                                 {"event", boost::json::parse(Check(1)).as_object()}})),
            "forbidden");

  reply = d_.CallAs(control, "conditions.person",
                    {{"officer_id", "MP-PC9999"}, {"person_id", "PNC-79/123456X"}});
  EXPECT_TRUE(Ok(reply)) << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("conditions.person"), "CR-LEWISHAM|PNC-79/123456X|ok|on "
                                                             "behalf of MP-PC9999");
  })) << Join(d_.AuditRows("conditions.person"));
}

// A console (administrator key) or control room acknowledging for an officer: the alert records
// that officer as who acknowledged and resolved it, and the audit row the key "on behalf of" them
// (the console's report: acked_by used to be the console's own key identity).
TEST_F(Security, AckForAnOfficerRecordsThatOfficerAsAckedAndResolvedBy) {
  CurveClientKeys control =
      d_.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
  ASSERT_TRUE(d_.Start()) << d_.log();
  ASSERT_TRUE(Ok(d_.CallAs(d_.admin_keys(), "event.submit",
                           {{"event", boost::json::parse(Grant(1)).as_object()}})));
  auto submitted = d_.CallAs(d_.admin_keys(), "event.submit",
                             {{"event", boost::json::parse(Check(1)).as_object()}});
  ASSERT_TRUE(Ok(submitted)) << boost::json::serialize(submitted);
  std::string breach_id;
  for (const auto& a : submitted.at("alerts").as_array()) {
    if (a.at("kind").as_string() == "exclusion_zone_breach") {
      breach_id = std::string(a.at("alert_id").as_string());
    }
  }
  ASSERT_FALSE(breach_id.empty()) << boost::json::serialize(submitted);
  auto acked = d_.CallAs(control, "alert.ack", {{"officer_id", "MP-PC5555"}, {"alert_id", breach_id}});
  ASSERT_TRUE(Ok(acked)) << boost::json::serialize(acked);
  EXPECT_EQ(acked.at("alert").at("acked_by").as_string(), "MP-PC5555");
  auto resolved = d_.CallAs(control, "alert.resolve",
                            {{"officer_id", "MP-PC5555"}, {"alert_id", breach_id},
                             {"outcome", "warned"}});
  ASSERT_TRUE(Ok(resolved)) << boost::json::serialize(resolved);
  EXPECT_EQ(resolved.at("alert").at("resolved_by").as_string(), "MP-PC5555");
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("alert.ack"), "CR-LEWISHAM|PNC-79/123456X|ok|on behalf of "
                                                     "MP-PC5555");
  })) << Join(d_.AuditRows("alert.ack"));
}

TEST_F(Security, SubscribersReceiveOnlyTheirOwnTopics) {
  CurveClientKeys pc1234 = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
  CurveClientKeys pc5555 = d_.AddClient("MP-PC5555", ClientRole::kOfficer);
  CurveClientKeys lewisham =
      d_.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
  ASSERT_TRUE(d_.Start()) << d_.log();
  // MP-PC5555 tries to listen to MP-PC1234's topic and to everything; CR-LEWISHAM to another
  // control room's.  Only their own subscriptions are applied.
  auto snoop = d_.SubscribeAs(pc5555, "officer/MP-PC1234/");
  auto snoop_all = d_.SubscribeAs(pc5555, "");
  auto snoop_control = d_.SubscribeAs(lewisham, "control/E09000011/");
  auto own = d_.SubscribeAs(pc1234, "officer/MP-PC1234/");
  auto own_control = d_.SubscribeAs(lewisham, "control/E09000023/");
  ASSERT_TRUE(Eventually([&] { return d_.AuditRows("subscription.refused").size() >= 3; }))
      << Join(d_.AuditRows("subscription.refused")) << d_.log();
  EXPECT_TRUE(AnyRowContains(d_.AuditRows("subscription.refused"), "MP-PC5555|officer/MP-PC1234/|"));
  std::this_thread::sleep_for(milliseconds(300));

  d_.Publish("orders", Grant(1));
  d_.Publish("check", Check(1));
  auto mine = DaemonProcess::Receive(*own, milliseconds(5000));
  ASSERT_TRUE(mine.has_value()) << d_.log();
  EXPECT_EQ(mine->at("kind").as_string(), "exclusion_zone_breach");
  EXPECT_TRUE(DaemonProcess::Receive(*own_control, milliseconds(2000)).has_value());
  EXPECT_FALSE(DaemonProcess::Receive(*snoop, milliseconds(500)).has_value());
  EXPECT_FALSE(DaemonProcess::Receive(*snoop_all, milliseconds(200)).has_value());
  EXPECT_FALSE(DaemonProcess::Receive(*snoop_control, milliseconds(200)).has_value());

  // alerts.since shows an officer only the alerts sent to them.
  auto since = d_.CallAs(pc5555, "alerts.since", {{"officer_id", "MP-PC5555"}, {"seq", 0}});
  ASSERT_TRUE(Ok(since)) << boost::json::serialize(since);
  for (const auto& a : since.at("alerts").as_array()) {
    bool to_me = false;
    for (const auto& r : a.at("recipients").as_array()) to_me |= r.as_string() == "officer/MP-PC5555/";
    EXPECT_TRUE(to_me) << boost::json::serialize(a);
  }
  EXPECT_FALSE(since.at("alerts").as_array().empty());

  // Subscribers going away (their unsubscriptions arrive without a pipe) leave the daemon well.
  snoop.reset();
  own.reset();
  snoop_all.reset();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(Ok(d_.Call("status"))) << d_.log();
}

TEST_F(Security, FeedKeyMayPublishOnlyItsOwnFeeds) {
  // A key allowed only the tag feed serves the orders endpoint: its handshake is refused.
  CurveClientKeys tag_only = d_.AddClient("EM-PROVIDER", ClientRole::kFeed, {"tag"});
  d_.SetFeedKeys("orders", tag_only);
  ASSERT_TRUE(d_.Start()) << d_.log();
  d_.Publish("orders", Grant(1));  // waits (in vain) for the daemon's subscription
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(d_.Call("status").at("counts").at("instruments").to_number<int64_t>(), 0);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("auth.refused"), "not allowed to publish feed orders");
  })) << Join(d_.AuditRows("auth.refused"));
}

TEST_F(Security, RevokedKeyIsRefusedAfterReload) {
  CurveClientKeys officer = d_.AddClient("MP-PC1234", ClientRole::kOfficer);
  ASSERT_TRUE(d_.Start()) << d_.log();
  ASSERT_TRUE(Ok(d_.CallAs(officer, "status", {{"officer_id", "MP-PC1234"}})));
  d_.RemoveClient("MP-PC1234");
  d_.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return d_.log().find("reload: ") != std::string::npos; }));
  auto reply = d_.CallAs(officer, "status", {{"officer_id", "MP-PC1234"}}, 1500);
  EXPECT_EQ(ErrorCodeOf(reply), "transport") << boost::json::serialize(reply);
  EXPECT_TRUE(Eventually([&] {
    return AnyRowContains(d_.AuditRows("auth.refused"), "client key " + officer.public_key);
  }));
  // A broken clients file on reload keeps the running list (the admin still works).
  std::ofstream(d_.dir() + "/clients.toml") << "[[client]]\nidentity = \"X\"\nrole = \"pilot\"\n";
  d_.Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] {
    return d_.log().find("clients file refused, keeping the running allow-list") !=
           std::string::npos;
  })) << d_.log();
  EXPECT_TRUE(Ok(d_.Call("status")));
}

struct RunResult {
  int exit_code;
  std::string output;
};

RunResult RunCommand(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 512> buf;
  while (p != nullptr && fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  int status = p != nullptr ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(Security, BadKeyFilesStopStartUpWithExitSeventyEight) {
  d_.WriteConfig();
  const std::string daemon = std::string(BREACHWATCHD_PATH) + " --config " + d_.config_path();
  // A server key others may read.
  std::filesystem::permissions(d_.dir() + "/server.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  for (const char* mode : {" --check", ""}) {
    RunResult r = RunCommand(daemon + mode);
    EXPECT_EQ(r.exit_code, 78) << r.output;
    EXPECT_NE(r.output.find("accessible to group or others"), std::string::npos) << r.output;
  }
  std::filesystem::permissions(d_.dir() + "/server.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::remove);
  // A clients file with a bad entry names the entry and field.
  d_.AddClient("EM-PROVIDER", ClientRole::kFeed);  // role feed without feeds
  for (const char* mode : {" --check", ""}) {
    RunResult r = RunCommand(daemon + mode);
    EXPECT_EQ(r.exit_code, 78) << r.output;
    EXPECT_NE(r.output.find("client[2].feeds"), std::string::npos) << r.output;
  }
}

TEST_F(Security, NoStartWithoutAnAnsweringZapHandler) {
  d_.WriteConfig();
  const std::string faults = d_.dir() + "/faults";
  std::ofstream(faults) << "zap_handler_hang\n";
  // (timeout: should it start after all, the test fails instead of waiting for ever)
  RunResult r = RunCommand("BREACHWATCH_FAULT_FILE=" + faults + " timeout 20 " +
                           BREACHWATCHD_PATH + " --config " + d_.config_path());
  EXPECT_EQ(r.exit_code, 69) << r.output;
  EXPECT_NE(r.output.find("refusing to serve without a working ZAP handler"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("ready"), std::string::npos) << r.output;
}

TEST_F(Security, BreachctlKeysMakesWorkingKeys) {
  const std::string keys = d_.dir() + "/made";
  RunResult r = RunCommand(std::string(BREACHCTL_PATH) + " keys generate pc77 --dir " + keys +
                    " --identity MP-PC0077 --role officer");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("identity = \"MP-PC0077\""), std::string::npos) << r.output;
  // Add the printed entry to the clients file, then use the key with breachctl.
  std::ifstream pub(keys + "/pc77.pub");
  std::string line, public_key;
  while (std::getline(pub, line)) {
    if (!line.empty() && line[0] != '#') public_key = line;
  }
  ASSERT_EQ(public_key.size(), 40u);
  EXPECT_EQ(std::filesystem::status(keys + "/pc77.key").permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  ASSERT_TRUE(d_.Start()) << d_.log();
  std::ofstream(d_.dir() + "/server.pub") << d_.server_public_key() << "\n";
  {
    std::ofstream clients(d_.dir() + "/clients.toml", std::ios::app);
    clients << "\n[[client]]\nidentity = \"MP-PC0077\"\nrole = \"officer\"\npublic_key = \""
            << public_key << "\"\n";
  }
  d_.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return d_.log().find("reload: 3 allow-listed") != std::string::npos; }))
      << d_.log();
  const std::string ctl = std::string(BREACHCTL_PATH) + " --control " + d_.control_endpoint() +
                          " --server-key " + d_.dir() + "/server.pub --client-key " + keys +
                          "/pc77.key --reason test --timeout-ms 3000 ";
  r = RunCommand(ctl + "--officer MP-PC0077 status");
  EXPECT_EQ(r.exit_code, 0) << r.output << d_.log();
  r = RunCommand(ctl + "--officer MP-PC0001 status");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("forbidden"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace bw::testing
