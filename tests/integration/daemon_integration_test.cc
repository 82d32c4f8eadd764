// Integration tests: the real breachwatchd, driven over ZeroMQ as a feed, a
// subscriber and a control client would.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS).

std::string Grant(int seq, const std::string& owning_control = "E09000011") {
  return R"({"type":"instrument.granted","id":"grant-)" + std::to_string(seq) +
         R"(","source":"custody-lewisham","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "offence":"common assault","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":")" +
         owning_control + R"(","valid_from":")" + Now(-3600) +
         R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})";
}

std::string Check(int seq, const char* at, const std::string& officer = "MP-PC5555",
                  const std::string& person = "PNC-79/123456X") {
  return R"({"type":"check.person","id":"chk-)" + std::to_string(seq) +
         R"(","source":"checks-met","seq":)" + std::to_string(seq) + R"(,"time":")" + Now() +
         R"(","person_id":")" + person + R"(","officer_id":")" + officer + R"(","at":)" + at + "}";
}

int64_t StatusCount(DaemonProcess& d, const char* key) {
  auto s = d.Call("status");
  return s.at("counts").at(key).to_number<int64_t>();
}

// Waits until `pred` holds or `timeout` passes.
void ExpectBreachOnAllFourRecipients(Transport transport) {
  DaemonProcess d(transport);
  ASSERT_TRUE(d.Start()) << d.log();
  std::vector<std::string> topics = {"officer/MP-PC5555/", "officer/MP-PC1234/",
                                     "control/E09000023/", "control/E09000011/"};
  std::vector<std::unique_ptr<zmq::socket_t>> subs;
  for (const auto& t : topics) subs.push_back(d.Subscribe(t));
  std::this_thread::sleep_for(milliseconds(300));  // let subscriptions reach the PUB

  d.Publish("orders", Grant(1));
  ASSERT_TRUE(Eventually([&] { return StatusCount(d, "instruments") == 1; })) << d.log();

  const auto sent = std::chrono::steady_clock::now();
  d.Publish("check", Check(1, kInLewishamText));
  for (size_t i = 0; i < topics.size(); ++i) {
    auto deadline = sent + milliseconds(1000);
    std::optional<boost::json::object> breach;
    while (!breach && std::chrono::steady_clock::now() < deadline) {
      auto remaining =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      auto a = DaemonProcess::Receive(*subs[i], std::max(remaining, milliseconds(1)));
      if (a && a->at("kind").as_string() == "exclusion_zone_breach") breach = a;
    }
    ASSERT_TRUE(breach) << "no exclusion_zone_breach on " << topics[i] << " within 1 s\n"
                        << d.log();
    EXPECT_EQ(breach->at("severity").as_string(), "critical");
    EXPECT_EQ(breach->at("person_id").as_string(), "PNC-79/123456X");
    EXPECT_EQ(breach->at("instrument_id").as_string(), "BAIL/LW/2016/0412");
    EXPECT_EQ(breach->at("condition_id").as_string(), "c1");
    EXPECT_EQ(breach->at("location").at("areas").as_array(), boost::json::array{"E09000023"});
    EXPECT_EQ(breach->at("recipients").as_array().size(), 4u);
  }
  // The checking officer also gets the conditions in force.
  auto alerts = d.AlertsSince(0);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].at("seq").as_int64(), 1);
  EXPECT_EQ(alerts[1].at("seq").as_int64(), 2);
  EXPECT_EQ(alerts[1].at("kind").as_string(), "check_result");
  EXPECT_EQ(alerts[1].at("recipients").as_array(), boost::json::array{"officer/MP-PC5555/"});
  EXPECT_EQ(alerts[1].at("breached").as_array(), boost::json::array{"c1"});
  EXPECT_EQ(alerts[1].at("instruments").as_array().size(), 1u);
  EXPECT_EQ(d.Stop(), 0) << d.log();
}

TEST(Daemon, CheckInsideExcludedBoroughReachesFourRecipientsWithinOneSecondIpc) {
  ExpectBreachOnAllFourRecipients(Transport::kIpc);
}

TEST(Daemon, CheckInsideExcludedBoroughReachesFourRecipientsWithinOneSecondTcp) {
  ExpectBreachOnAllFourRecipients(Transport::kTcp);
}

TEST(Daemon, CheckOutsideTheZoneYieldsOnlyCheckResult) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  auto oic = d.Subscribe("officer/MP-PC1234/");
  auto checker = d.Subscribe("officer/MP-PC6666/");
  std::this_thread::sleep_for(milliseconds(300));
  d.Publish("orders", Grant(1));
  d.Publish("check", Check(1, kInGreenwichText, "MP-PC6666"));
  auto result = DaemonProcess::Receive(*checker, milliseconds(2000));
  ASSERT_TRUE(result) << d.log();
  EXPECT_EQ(result->at("kind").as_string(), "check_result");
  EXPECT_TRUE(result->at("breached").as_array().empty());
  EXPECT_FALSE(DaemonProcess::Receive(*oic, milliseconds(300)));
  auto alerts = d.AlertsSince(0);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].at("kind").as_string(), "check_result");
}

// Regression for the ZMQ_FD edge trigger: a burst must be drained completely,
// not stall after the first notification.
TEST(Daemon, BurstOfThousandEventsIsAllHandled) {
  DaemonProcess d;
  d.config().intake_drain_budget = 64;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  for (int i = 1; i <= 1000; ++i) d.Publish("check", Check(i, kInGreenwichText, "MP-PC6666"));
  ASSERT_TRUE(
      Eventually([&] { return StatusCount(d, "inbound_handled") == 1001; }, milliseconds(30000)))
      << "handled " << StatusCount(d, "inbound_handled") << "\n"
      << d.log().substr(0, 4000);
  auto alerts = d.AlertsSince(0);
  EXPECT_EQ(alerts.size(), 1000u);
  for (size_t i = 0; i < alerts.size(); ++i) {
    ASSERT_EQ(alerts[i].at("seq").as_int64(), static_cast<int64_t>(i + 1)) << "seq gap";
  }
}

TEST(Daemon, GarbageInterleavedWithValidEventsDoesNotStopThem) {
  DaemonProcess d;
  d.config().intake_max_message_bytes = 4096;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  const std::vector<std::vector<std::string>> garbage = {
      {"check", "this is not json"},
      {"check", "[1,2,3]"},
      {"check", "{\"id\":\"x\",\"source\":\"s\",\"seq\":\"one\",\"type\":\"check.person\"}"},
      {"check", "{\"id\":\"\xff\xfe\"}"},
      {"check", std::string(5000, 'x')},
      {"check", "{}", "a third frame"},
      {"check", R"({"id":"u1","source":"checks-met","seq":9,"type":"check.teleport","time":")" +
                    Now() + "\"}"},
      {"check", R"({"id":"g1","source":"checks-met","seq":9,"type":"instrument.ended","time":")" +
                    Now() + R"(","instrument_id":"X","reason":"nfa"})"},
  };
  int valid = 0;
  for (size_t i = 0; i < garbage.size(); ++i) {
    d.Publish("check", Check(static_cast<int>(100 + i), kInLewishamText));
    ++valid;
    d.PublishFrames("check", garbage[i]);
  }
  d.Publish("check", Check(200, kInLewishamText));
  ++valid;
  ASSERT_TRUE(Eventually([&] {
    return StatusCount(d, "inbound_handled") == valid + 1 &&
           StatusCount(d, "inbound_rejected") == static_cast<int64_t>(garbage.size());
  })) << d.log();
  // Every valid check produced its breach and its check_result.
  int breaches = 0, results = 0;
  for (const auto& a : d.AlertsSince(0)) {
    breaches += a.at("kind").as_string() == "exclusion_zone_breach";
    results += a.at("kind").as_string() == "check_result";
  }
  EXPECT_EQ(breaches, valid);
  EXPECT_EQ(results, valid);
  auto status = d.Call("status");
  bool found = false;
  for (const auto& f : status.at("feeds").as_array()) {
    if (f.at("name").as_string() == "check") {
      found = true;
      EXPECT_EQ(f.at("rejected").as_int64(), static_cast<int64_t>(garbage.size()));
    }
  }
  EXPECT_TRUE(found);
  EXPECT_NE(d.log().find("rejected message on check"), std::string::npos);
}

TEST(Daemon, InstrumentsAndAlertsSurviveKillNineWithSameIdsAndSeqs) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  d.Publish("check", Check(1, kInLewishamText));
  ASSERT_TRUE(Eventually([&] { return d.AlertsSince(0).size() == 2; })) << d.log();
  auto before = d.AlertsSince(0);
  d.Kill9();
  ASSERT_TRUE(d.Start()) << d.log();
  auto after = d.AlertsSince(0);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].at("alert_id"), before[i].at("alert_id"));
    EXPECT_EQ(after[i].at("seq"), before[i].at("seq"));
  }
  auto conditions = d.Call("conditions.person", {{"person_id", "PNC-79/123456X"}});
  ASSERT_TRUE(conditions.at("ok").as_bool()) << boost::json::serialize(conditions);
  ASSERT_EQ(conditions.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(conditions.at("instruments").as_array()[0].at("instrument_id").as_string(),
            "BAIL/LW/2016/0412");
  EXPECT_EQ(conditions.at("breach_count").as_int64(), 1);
  // The restarted daemon still matches, and seq carries on without a gap.
  auto submitted = d.Call("event.submit", {{"event", boost::json::parse(Check(2, kInLewishamText))}});
  ASSERT_TRUE(submitted.at("ok").as_bool()) << boost::json::serialize(submitted);
  ASSERT_EQ(submitted.at("alerts").as_array().size(), 2u);
  EXPECT_EQ(submitted.at("alerts").as_array()[0].at("seq").as_int64(), 3);
}

TEST(Daemon, DuplicateEventIsStoredAndActedOnOnce) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  std::string check = Check(1, kInLewishamText);
  d.Publish("check", check);
  d.Publish("check", check);
  auto dup = d.Call("event.submit", {{"event", boost::json::parse(check)}});
  ASSERT_TRUE(dup.at("ok").as_bool()) << boost::json::serialize(dup);
  EXPECT_EQ(dup.at("result").as_string(), "duplicate");
  EXPECT_EQ(d.AlertsSince(0).size(), 2u);
  EXPECT_EQ(StatusCount(d, "inbound_handled"), 2);
}

TEST(Daemon, ControlRequestsNeedOfficerAndReasonAndAreAudited) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  int64_t audit_before = StatusCount(d, "audit_records");
  auto no_reason = d.Call("conditions.person", {{"person_id", "P"}, {"reason", ""}});
  EXPECT_FALSE(no_reason.at("ok").as_bool());
  EXPECT_EQ(no_reason.at("error").at("code").as_string(), "bad_request");
  EXPECT_NE(std::string(no_reason.at("error").at("message").as_string()).find("reason"),
            std::string::npos);
  auto no_officer = d.Call("status", {{"officer_id", 7}});
  EXPECT_FALSE(no_officer.at("ok").as_bool());
  auto unknown = d.Call("teleport");
  EXPECT_EQ(unknown.at("error").at("code").as_string(), "bad_request");
  auto bad_submit = d.Call("event.submit", {{"event", {{"type", "check.person"}}}});
  EXPECT_FALSE(bad_submit.at("ok").as_bool());
  EXPECT_EQ(bad_submit.at("error").at("code").as_string(), "bad_request");
  // A status reply counts the records before its own: the first status (1) and
  // the four refused requests (4) are each audited.
  EXPECT_EQ(StatusCount(d, "audit_records"), audit_before + 1 + 4);
}

TEST(Daemon, SigtermStopsCleanly) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  ASSERT_TRUE(Eventually([&] { return StatusCount(d, "instruments") == 1; }));
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_NE(d.log().find("breachwatchd stopped"), std::string::npos) << d.log();
}

TEST(Daemon, SighupReloadSwapsWholeOrKeepsTheRunningState) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  ASSERT_TRUE(Eventually([&] { return StatusCount(d, "instruments") == 1; }));
  const std::string good = [&] {
    std::ifstream in(d.config_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  auto reload_with = [&](const std::string& toml, const std::string& expect_in_log) {
    std::ofstream(d.config_path()) << toml;
    d.Signal(SIGHUP);
    EXPECT_TRUE(Eventually([&] { return d.log().find(expect_in_log) != std::string::npos; }))
        << "expected \"" << expect_in_log << "\" in the log:\n"
        << d.log();
  };
  // 1. A broken file (an unknown key): refused, the running state kept.
  reload_with("no_such_key = 1\n" + good, "reload refused, keeping the running");
  // 2. Zones that lack a code a stored instrument uses (Lewisham): refused.
  Config police_areas = d.config();
  police_areas.zones = {
      {.file = BREACHWATCH_SHARED_DATA_DIR "/police_force_areas_dec2020_ew.geojson",
       .code_property = "PFA20CD",
       .name_property = "PFA20NM",
       .skip_invalid = true}};
  const std::string no_london = RenderConfig(police_areas) + "\n";
  reload_with(no_london, "reload refused: instruments use zone codes the new zone sets lack");
  // The old zones still match.
  auto still = d.Call("event.submit", {{"event", boost::json::parse(Check(1, kInLewishamText))}});
  ASSERT_TRUE(still.at("ok").as_bool()) << boost::json::serialize(still);
  EXPECT_EQ(still.at("alerts").as_array().size(), 2u);
  // 3. A valid change is applied whole.
  reload_with(good, "reload done: 33 zones");
  EXPECT_EQ(d.Stop(), 0) << d.log();
}

TEST(Daemon, BreachctlSubmitsAndShowsConditions) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  std::string file = d.dir() + "/grant.json";
  { std::ofstream(file) << Grant(1); }
  std::string base = std::string(BREACHCTL_PATH) + " --control " + d.control_endpoint() +
                     " --reason 'integration test' ";
  EXPECT_EQ(std::system((base + "submit " + file + " > " + d.dir() + "/out.txt").c_str()), 0);
  EXPECT_EQ(std::system((base + "conditions PNC-79/123456X >> " + d.dir() + "/out.txt").c_str()),
            0);
  std::ifstream in(d.dir() + "/out.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("BAIL/LW/2016/0412"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("1 instrument(s) in force"), std::string::npos) << ss.str();
  // Without a reason breachctl refuses before asking.
  EXPECT_NE(std::system((std::string(BREACHCTL_PATH) + " --control " + d.control_endpoint() +
                         " status 2>/dev/null")
                            .c_str()),
            0);
}

// An on-call engineer reading `top -H` or a perf profile sees which thread is the journal's.
TEST(Daemon, ItsThreadsAreNamedForTopAndPerf) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  std::set<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(d.pid()) + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  EXPECT_TRUE(names.count("bw-commit")) << ::testing::PrintToString(names);
  EXPECT_TRUE(names.count("bw-checkpoint")) << ::testing::PrintToString(names);
}

}  // namespace
}  // namespace bw::testing
