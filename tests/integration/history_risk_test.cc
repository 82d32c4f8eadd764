// Integration tests for protocol 1.1 sections 9.1 and 9.2 through the real
// breachwatchd over ZeroMQ: the history on a breach alert from a person check
// (the breach arrest before it, the re-bail on the same conditions), the
// routing of a high-risk breach to the owning control room and the safety
// contacts (received on the alert PUB socket), and the high-risk
// acknowledgement deadline and recorded outcomes surviving a restart.
//
// Events are submitted with event.submit, one after the other: each is handled
// before the reply, so the order is the order of the calls.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using boost::json::array;
using boost::json::object;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSubject[] = "PNC-79/123456X";
constexpr char kInstrument[] = "DVPO/LW/2016/0007";
// Lewisham 014 MSOA population-weighted centroid (ONS): inside E09000023.
// Greenwich 035: outside Lewisham.

std::string Ago(int seconds_ago) {
  return FormatRfc3339(SystemClock().Now() - seconds(seconds_ago));
}

std::string Str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

// entry[key] as a string; "" when it is absent (a missing outcome fails as a wrong value).
std::string Field(const boost::json::value& entry, const char* key) {
  const auto* v = entry.as_object().if_contains(key);
  return v != nullptr ? Str(*v) : std::string();
}

std::set<std::string> Recipients(const object& alert) {
  std::set<std::string> out;
  for (const auto& r : alert.at("recipients").as_array()) out.insert(Str(r));
  return out;
}

int ids = 0;

// The instrument: an exclusion from Lewisham, owned by Greenwich's control room,
// with a safety contact; `risk` when given.
object Instrument(const std::optional<object>& risk) {
  object ins{
      {"instrument_id", kInstrument},
      {"kind", "dvpo"},
      {"subject", kSubject},
      {"protected_persons", array{"PNC-72/654321Y"}},
      {"case_ref", "01LW/12345/16"},
      {"oic", "MP-PC1234"},
      {"supervisor", "MP-DS0077"},
      {"owning_control", "E09000011"},
      {"safety_contacts", array{"IDVA-LW-01"}},
      {"valid_from", Ago(3600 * 24 * 10)},
      {"valid_until", nullptr},
      {"conditions",
       array{object{{"condition_id", "c1"}, {"kind", "exclusion_zone"}, {"zone", "E09000023"}}}}};
  if (risk) ins["risk"] = *risk;
  return ins;
}

class HistoryRiskTest : public ::testing::Test {
 protected:
  // event.submit of an event of `type` dated `time` with `fields`; fails the test unless handled.
  object Submit(const std::string& type, const std::string& time, object fields) {
    fields["type"] = type;
    fields["id"] = "hr-" + std::to_string(++ids);
    fields["source"] = "history-risk-test";
    fields["time"] = time;
    auto r = d_.Call("event.submit", {{"event", fields}});
    EXPECT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
    EXPECT_EQ(Str(r.contains("result") ? r.at("result") : boost::json::value()), "handled")
        << boost::json::serialize(r);
    return r;
  }
  object Grant(const std::optional<object>& risk) {
    return Submit("instrument.granted", Ago(3600 * 24 * 10), {{"instrument", Instrument(risk)}});
  }
  object Check(const std::string& time, const array& at) {
    return Submit("check.person", time,
                  {{"person_id", kSubject}, {"officer_id", "MP-PC5555"}, {"at", at}});
  }

  // Makes sure `sub` is connected: submits `probe` events (a fresh id each) until
  // an alert of `probe_person` arrives on it.
  ::testing::AssertionResult Confirm(zmq::socket_t& sub, const std::string& type, object probe) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      const std::string person = "PNC-00/00000" + std::to_string(attempt) + "P";
      probe["person_id"] = person;
      probe["type"] = type;
      probe["id"] = "probe-" + std::to_string(++ids);
      probe["source"] = "subscription-probe";
      probe["time"] = Ago(0);
      d_.Call("event.submit", {{"event", probe}});
      while (auto a = DaemonProcess::Receive(sub, milliseconds(200))) {
        if (Str(a->at("person_id")) == person) return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure() << "subscription never connected";
  }

  // The first alert of `kind` about kSubject on `sub` within a few seconds.
  static std::optional<object> Await(zmq::socket_t& sub, const std::string& kind) {
    for (int i = 0; i < 25; ++i) {
      auto a = DaemonProcess::Receive(sub, milliseconds(200));
      if (a && Str(a->at("kind")) == kind && Str(a->at("person_id")) == kSubject) return a;
    }
    return std::nullopt;
  }

  std::optional<object> StoredOfKind(const std::string& kind) {
    std::optional<object> last;
    for (auto& a : d_.AlertsSince(0)) {
      if (Str(a.at("kind")) == kind) last = std::move(a);
    }
    return last;
  }

  DaemonProcess d_;
};

// The night in the review: the officer who stops him learns, from the alert in
// their hand, that he was arrested for breach three days ago and re-bailed on
// the same conditions.
TEST_F(HistoryRiskTest, BreachFromAPersonCheckCarriesTheBreachArrestAndTheReBail) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto officer = d_.Subscribe("officer/MP-PC5555/");
  ASSERT_TRUE(
      Confirm(*officer, "check.person", {{"officer_id", "MP-PC5555"}, {"area", "E09000011"}}))
      << d_.log();

  Grant(std::nullopt);
  Submit("custody.arrested", Ago(3 * 24 * 3600),
         {{"person_id", kSubject},
          {"arresting_officer", "MP-PC9001"},
          {"reason", "breach"},
          {"area", "E09000023"}});
  Submit("custody.released", Ago(3 * 24 * 3600 - 12 * 3600),
         {{"person_id", kSubject}, {"outcome", "rebailed"}});
  Submit("instrument.varied", Ago(3 * 24 * 3600 - 12 * 3600 - 60),
         {{"instrument", Instrument(std::nullopt)}});
  Check(Ago(0), kInLewisham);

  auto breach = Await(*officer, "exclusion_zone_breach");
  ASSERT_TRUE(breach.has_value()) << d_.log();
  EXPECT_EQ(breach->at("breach_count").to_number<int64_t>(), 2);
  const auto& history = breach->at("history").as_array();
  ASSERT_EQ(history.size(), 4u) << boost::json::serialize(history);
  EXPECT_EQ(Field(history[0], "kind"), "exclusion_zone_breach");
  EXPECT_EQ(Field(history[1], "kind"), "instrument_varied");
  EXPECT_TRUE(history[1].at("same_conditions").as_bool());
  EXPECT_EQ(Field(history[2], "kind"), "custody_release");
  EXPECT_EQ(Field(history[2], "outcome"), "rebailed");
  EXPECT_EQ(Field(history[3], "kind"), "breach_arrest");
  EXPECT_EQ(Field(history[3], "outcome"), "rebailed");
  EXPECT_EQ(Field(history[3], "instrument_id"), kInstrument);

  auto result = Await(*officer, "check_result");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->at("history"), breach->at("history"));
}

TEST_F(HistoryRiskTest, HighRiskBreachReachesOwningControlAndSafetyContactsAtOnce) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto owning = d_.Subscribe("control/E09000011/");
  auto contact = d_.Subscribe("officer/IDVA-LW-01/");
  // A tag fix in Greenwich of a person with no instrument reaches Greenwich's control room.
  ASSERT_TRUE(Confirm(*owning, "tag.position",
                      {{"device_id", "TAG-PROBE"}, {"at", kInGreenwich}, {"accuracy_m", 10}}))
      << d_.log();
  ASSERT_TRUE(
      Confirm(*contact, "check.person", {{"officer_id", "IDVA-LW-01"}, {"area", "E09000011"}}))
      << d_.log();

  Grant(object{{"level", "high"}, {"tool", "DARA"}, {"marac", true}, {"markers", array{"VI"}}});
  // zone_crossed would be high; a check inside the zone is critical (and stays so).
  Check(Ago(0), kInLewisham);

  for (zmq::socket_t* sub : {owning.get(), contact.get()}) {
    auto a = Await(*sub, "exclusion_zone_breach");
    ASSERT_TRUE(a.has_value()) << d_.log();
    EXPECT_EQ(Str(a->at("severity")), "critical");
    EXPECT_TRUE(a->at("high_risk").as_bool());
    EXPECT_EQ(Str(a->at("risk").at("tool")), "DARA");
    const auto to = Recipients(*a);
    EXPECT_TRUE(to.contains("control/E09000011/"));
    EXPECT_TRUE(to.contains("officer/IDVA-LW-01/"));
    EXPECT_TRUE(to.contains("control/E09000023/"));
  }

  // conditions.person shows the risk.
  auto conditions = d_.Call("conditions.person", {{"person_id", kSubject}});
  EXPECT_TRUE(conditions.at("high_risk").as_bool()) << boost::json::serialize(conditions);
  EXPECT_EQ(Str(conditions.at("instruments").at(0).at("risk").at("level")), "high");
}

// A medium alert of a high-risk case (custody_release) becomes high and goes to the owning
// control room though it is not critical; a high one (tag_signal_lost) becomes critical.
TEST_F(HistoryRiskTest, HighRiskSeverityIsRaisedOneStep) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  Grant(object{{"mappa_level", 2}});
  Submit("custody.arrested", Ago(7200),
         {{"person_id", kSubject},
          {"arresting_officer", "MP-PC9001"},
          {"reason", "offence"},
          {"area", "E09000023"}});
  Submit("custody.released", Ago(3600), {{"person_id", kSubject}, {"outcome", "charged_bailed"}});
  Submit("tag.signal", Ago(60),
         {{"person_id", kSubject}, {"device_id", "TAG-1"}, {"state", "lost"}});
  auto release = StoredOfKind("custody_release");
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(Str(release->at("severity")), "high");
  EXPECT_TRUE(Recipients(*release).contains("control/E09000011/"));
  auto signal = StoredOfKind("tag_signal_lost");
  ASSERT_TRUE(signal.has_value());
  EXPECT_EQ(Str(signal->at("severity")), "critical");
  EXPECT_TRUE(Recipients(*signal).contains("officer/IDVA-LW-01/"));
}

// The first escalation deadline of a high-risk critical alert is raised_at + 120 s
// (ack_sla_high_risk_s), stored, and the same after a restart; an outcome recorded for a
// breach shows in the history of the next breach, also after the restart (the engine is
// rebuilt by replay, the outcomes come from the store).
TEST_F(HistoryRiskTest, HighRiskDeadlineAndRecordedOutcomesSurviveARestart) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  Grant(object{{"level", "high"}});
  Check(Ago(600), kInLewisham);
  auto breach = StoredOfKind("exclusion_zone_breach");
  ASSERT_TRUE(breach.has_value());
  const std::string id = Str(breach->at("alert_id"));
  const TimePoint raised = ParseRfc3339(Str(breach->at("raised_at"))).value_or(TimePoint{});

  auto deadline = [&]() -> std::optional<TimePoint> {
    auto open = d_.Call("alerts.open");
    for (const auto& a : open.at("alerts").as_array()) {
      if (Str(a.at("alert_id")) == id && a.as_object().contains("next_escalation_at")) {
        return ParseRfc3339(Str(a.at("next_escalation_at")));
      }
    }
    return std::nullopt;
  };
  ASSERT_EQ(deadline(), raised + seconds(120)) << "ack_sla_high_risk_s.critical";
  ASSERT_EQ(d_.Stop(), 0);
  ASSERT_TRUE(d_.Start()) << d_.log();
  EXPECT_EQ(deadline(), raised + seconds(120)) << "the same after a restart";

  auto resolved = d_.Call(
      "alert.resolve", {{"alert_id", id}, {"outcome", "warned"}, {"officer_id", "MP-PC1234"}});
  ASSERT_TRUE(resolved.at("ok").as_bool()) << boost::json::serialize(resolved);
  ASSERT_EQ(d_.Stop(), 0);
  ASSERT_TRUE(d_.Start()) << d_.log();
  Check(Ago(0), kInLewisham);
  auto next = StoredOfKind("exclusion_zone_breach");
  ASSERT_TRUE(next.has_value());
  ASSERT_NE(Str(next->at("alert_id")), id);
  const auto& history = next->at("history").as_array();
  ASSERT_EQ(history.size(), 2u) << boost::json::serialize(history);
  EXPECT_EQ(Field(history[1], "outcome"), "warned");
  EXPECT_EQ(next->at("breach_count").to_number<int64_t>(), 2);
}

// What breachctl prints for an officer: `conditions` and the court document (`history`).
TEST_F(HistoryRiskTest, BreachctlConditionsAndTheCourtDocumentShowTheRisk) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  Grant(
      object{{"level", "high"}, {"tool", "DARA"}, {"marac", true}, {"markers", array{"VI", "WE"}}});
  const std::string base = std::string(BREACHCTL_PATH) + " --control " + d_.control_endpoint() +
                           " --reason 'integration test' ";
  const std::string out = d_.dir() + "/conditions.txt";
  const std::string doc = d_.dir() + "/history.md";
  ASSERT_EQ(std::system((base + "conditions " + kSubject + " > " + out).c_str()), 0);
  ASSERT_EQ(std::system((base + "history " + kSubject + " --format md -o " + doc).c_str()), 0);
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string conditions = read(out);
  EXPECT_NE(conditions.find(", HIGH RISK,"), std::string::npos) << conditions;
  EXPECT_NE(conditions.find("HIGH RISK: level high (DARA), MARAC, markers VI WE"),
            std::string::npos)
      << conditions;
  const std::string court = read(doc);
  EXPECT_NE(court.find("HIGH RISK: level high (DARA), MARAC, markers VI WE"), std::string::npos)
      << court;
}

}  // namespace
}  // namespace bw::testing
