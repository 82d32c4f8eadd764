// Integration tests for custody, arrests, releases, repeat breaches, expiry
// and escalation ("somebody always acts"), through the real breachwatchd:
// events are published on the feeds with correct per-source seq, alerts are
// read back with alerts.since and on the alert PUB socket, and the alert
// lifecycle is driven with the control ops and breachctl.
//
// Ordering: each event is published only after the previous one has been
// handled (the daemon's status shows its seq), because custody changes how the
// events after it are matched and the feeds are separate sockets.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
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

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS).
// A person with no instrument, checked only to prove a subscription is live.
constexpr char kProbePerson[] = "PNC-00/000000P";

std::string Str(const boost::json::value& v) { return std::string(v.as_string()); }

TimePoint TimeOf(const object& alert, const char* key) {
  auto t = ParseRfc3339(alert.at(key).as_string());
  return t.value_or(TimePoint{});
}

std::set<std::string> Recipients(const object& alert) {
  std::set<std::string> out;
  for (const auto& r : alert.at("recipients").as_array()) out.insert(Str(r));
  return out;
}

int ExitCode(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Every stored alert except the subscription probes.
std::vector<object> StoredAlerts(DaemonProcess& d) {
  std::vector<object> out;
  for (auto& a : d.AlertsSince(0)) {
    if (!(a.contains("person_id") && a.at("person_id").as_string() == kProbePerson)) {
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<object> OfKind(const std::vector<object>& alerts, const std::string& kind) {
  std::vector<object> out;
  for (const auto& a : alerts) {
    if (a.at("kind").as_string() == kind) out.push_back(a);
  }
  return out;
}

// Publishes events on the feeds with the next seq of their source and waits
// until the daemon has handled each one.  The daemon numbers (feed, source)
// pairs; the tests never use one source on two feeds.
class Feeds {
 public:
  explicit Feeds(DaemonProcess* d) : d_(d) {}

  ::testing::AssertionResult Send(const std::string& feed, const std::string& source,
                                  const std::string& type, const std::string& time, object fields) {
    const int64_t seq = ++seq_[{feed, source}];
    fields["id"] = feed + "-" + source + "-" + std::to_string(seq);
    fields["source"] = source;
    fields["seq"] = seq;
    fields["type"] = type;
    fields["time"] = time;
    d_->Publish(feed, boost::json::serialize(fields));
    if (Eventually([&] { return LastSeq(feed, source) >= seq; })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << type << " " << source << "#" << seq << " on feed "
                                         << feed << " was not handled within 10 s\n"
                                         << d_->log();
  }

 private:
  int64_t LastSeq(const std::string& feed, const std::string& source) {
    auto status = d_->Call("status");
    if (!status.contains("feeds")) return 0;
    for (const auto& f : status.at("feeds").as_array()) {
      if (f.at("name").as_string() != feed) continue;
      const auto& seqs = f.at("last_seq").as_object();
      if (auto it = seqs.find(source); it != seqs.end()) return it->value().to_number<int64_t>();
    }
    return 0;
  }

  DaemonProcess* d_;
  std::map<std::pair<std::string, std::string>, int64_t> seq_;  // (feed, source)
};

// Makes sure `sub`, subscribed to officer/<officer>/, is connected before the
// test relies on it: submits checks by `officer` of a person with no
// instrument until their check_result arrives on `sub`.  Other alerts read
// meanwhile are appended to `others` when given.
::testing::AssertionResult ConfirmSubscribed(DaemonProcess& d, zmq::socket_t& sub,
                                             const std::string& officer,
                                             std::vector<object>* others = nullptr) {
  static int probe = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    object event{{"type", "check.person"},
                 {"id", "probe-" + std::to_string(++probe)},
                 {"source", "subscription-probe"},
                 {"time", Now()},
                 {"person_id", kProbePerson},
                 {"officer_id", officer},
                 {"area", "E09000011"}};
    auto r = d.Call("event.submit", {{"event", event}});
    if (!r.contains("ok") || !r.at("ok").as_bool()) {
      return ::testing::AssertionFailure() << "probe refused: " << boost::json::serialize(r);
    }
    while (auto a = DaemonProcess::Receive(sub, milliseconds(200))) {
      if (a->at("person_id").as_string() == kProbePerson) return ::testing::AssertionSuccess();
      if (others != nullptr) others->push_back(std::move(*a));
    }
  }
  return ::testing::AssertionFailure() << "officer/" << officer << "/ never received a probe";
}

// Alerts on `sub` (probes left out) until one satisfies `last` or `deadline`
// passes; `*found` says whether it was seen.
template <typename Pred>
std::vector<object> ReceiveUntil(zmq::socket_t& sub, Pred last,
                                 std::chrono::system_clock::time_point deadline, bool* found) {
  std::vector<object> got;
  *found = false;
  while (!*found) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::system_clock::now());
    if (left <= milliseconds(0)) break;
    auto a = DaemonProcess::Receive(sub, left);
    if (!a) continue;
    if (a->at("person_id").as_string() == kProbePerson) continue;
    *found = last(*a);
    got.push_back(std::move(*a));
  }
  return got;
}

// Everything already queued on `sub` (probes left out).
std::vector<object> DrainQueued(zmq::socket_t& sub) {
  std::vector<object> got;
  while (auto a = DaemonProcess::Receive(sub, milliseconds(100))) {
    if (a->at("person_id").as_string() != kProbePerson) got.push_back(std::move(*a));
  }
  return got;
}

object Place(const std::string& label, const array& at, double radius_m) {
  return {{"label", label}, {"at", at}, {"radius_m", radius_m}};
}

// ---------------------------------------------------------------------------
// 1. The 2013 sequence: curfew breaches, a breach arrest, six tag events while
// in custody, then release on court bail.

constexpr char kSubject2013[] = "PNC-13/201301A";
constexpr char kOic2013[] = "MP-PC2013";
constexpr char kSupervisor2013[] = "MP-DS2013";
constexpr char kBail2013[] = "CB/LW/2013/0077";

object CourtBail2013() {
  return {
      {"instrument_id", kBail2013},
      {"kind", "court_bail"},
      {"subject", kSubject2013},
      {"protected_persons", array{"PNC-13/201302B"}},
      {"case_ref", "01LW/07001/13"},
      {"offence", "assault occasioning actual bodily harm"},
      {"oic", kOic2013},
      {"supervisor", kSupervisor2013},
      {"owning_control", "E09000023"},
      {"safety_contacts", array{"IDVA-LW-03"}},
      {"valid_from", "2013-06-20T10:00:00+01:00"},
      {"valid_until", nullptr},
      {"conditions",
       array{object{{"condition_id", "c1"},
                    {"kind", "curfew"},
                    {"place", Place("bail address", {0.0640, 51.4890}, 50)},
                    {"windows",
                     array{object{{"days", array{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}},
                                  {"start", "19:00"},
                                  {"end", "07:00"}}}},
                    {"tz", "Europe/London"},
                    {"grace_min", 5}},
             object{{"condition_id", "c2"},
                    {"kind", "residence"},
                    {"place", Place("bail address", {0.0640, 51.4890}, 50)}}}}};
}

TEST(Custody2013, TagEventsInCustodyGoToControlAsInfoAndNeverPageTheOic) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  auto oic = d.Subscribe(std::string("officer/") + kOic2013 + "/");
  ASSERT_TRUE(ConfirmSubscribed(d, *oic, kOic2013)) << d.log();

  Feeds f(&d);
  const std::string tag = "em-provider";
  const object wearer{{"person_id", kSubject2013}, {"device_id", "EM-TAG-55012"}};
  auto tag_event = [&](object extra) {
    object o = wearer;
    for (auto& [k, v] : extra) o[k] = v;
    return o;
  };
  ASSERT_TRUE(f.Send("orders", "crown-court-woolwich", "instrument.granted",
                     "2013-06-20T10:00:00+01:00", {{"instrument", CourtBail2013()}}));
  // Two curfew absences before the arrest (separate nights, separate episodes).
  ASSERT_TRUE(f.Send("tag", tag, "tag.curfew_violation", "2013-07-02T22:00:00+01:00",
                     tag_event({{"state", "start"}})));
  ASSERT_TRUE(f.Send("tag", tag, "tag.curfew_violation", "2013-07-02T23:10:00+01:00",
                     tag_event({{"state", "end"}})));
  ASSERT_TRUE(f.Send("tag", tag, "tag.curfew_violation", "2013-07-04T23:30:00+01:00",
                     tag_event({{"state", "start"}})));
  // Arrested for the breach; the arrest names no instrument.
  ASSERT_TRUE(f.Send("custody", "custody-lewisham", "custody.arrested", "2013-07-05T10:00:00+01:00",
                     {{"person_id", kSubject2013},
                      {"arresting_officer", "MP-PC9001"},
                      {"reason", "breach"},
                      {"custody_suite", "Lewisham"},
                      {"area", "E09000023"}}));
  // A kill -9 while the subject is in custody (once the OIC has the arrest):
  // the custody interval is rebuilt from the store, not forgotten.
  bool found = false;
  std::vector<object> oic_got = ReceiveUntil(
      *oic, [](const object& a) { return a.at("kind").as_string() == "breach_arrest"; },
      std::chrono::system_clock::now() + seconds(5), &found);
  ASSERT_TRUE(found) << "breach_arrest never reached the OIC\n" << d.log();
  d.Kill9();
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(d.AwaitFeedSubscription("tag")) << d.log();
  ASSERT_TRUE(d.AwaitFeedSubscription("custody")) << d.log();
  ASSERT_TRUE(ConfirmSubscribed(d, *oic, kOic2013, &oic_got)) << d.log();
  // Six tag events dated 6-11 July 2013, while in custody.
  const std::vector<std::pair<std::string, object>> in_custody_events = {
      {"2013-07-06T09:00:00+01:00", {{"type", "tag.strap_tamper"}}},
      {"2013-07-07T09:00:00+01:00", {{"type", "tag.signal"}, {"state", "lost"}}},
      {"2013-07-08T09:00:00+01:00", {{"type", "tag.battery"}, {"level", "dead"}}},
      {"2013-07-09T23:00:00+01:00", {{"type", "tag.curfew_violation"}, {"state", "start"}}},
      {"2013-07-10T09:00:00+01:00", {{"type", "tag.strap_tamper"}}},
      {"2013-07-11T09:00:00+01:00", {{"type", "tag.signal"}, {"state", "lost"}}},
  };
  for (const auto& [time, spec] : in_custody_events) {
    object fields = tag_event({});
    for (const auto& [k, v] : spec) {
      if (k != "type") fields[k] = v;
    }
    ASSERT_TRUE(f.Send("tag", tag, Str(spec.at("type")), time, fields));
  }
  ASSERT_TRUE(f.Send("custody", "custody-lewisham", "custody.released", "2013-07-12T11:00:00+01:00",
                     {{"person_id", kSubject2013}, {"outcome", "court_bailed"}}));

  struct Expected {
    std::string kind, severity;
    std::set<std::string> recipients;
    bool in_custody;
  };
  const std::string oic_topic = std::string("officer/") + kOic2013 + "/";
  const std::string sup_topic = std::string("officer/") + kSupervisor2013 + "/";
  const std::string control = "control/E09000023/";
  const std::vector<Expected> expected = {
      {"curfew_breach", "high", {oic_topic}, false},
      {"curfew_breach", "high", {oic_topic}, false},
      {"breach_arrest", "high", {oic_topic, sup_topic}, true},
      // The arrest is the third breach within 90 days.
      {"repeat_breach", "high", {sup_topic, control}, false},
      {"tag_tamper", "info", {control}, true},
      {"tag_signal_lost", "info", {control}, true},
      {"tag_battery", "info", {control}, true},
      {"curfew_breach", "info", {control}, true},
      {"tag_tamper", "info", {control}, true},
      {"tag_signal_lost", "info", {control}, true},
      {"custody_release", "medium", {oic_topic, "officer/IDVA-LW-03/"}, false},
  };
  const auto alerts = StoredAlerts(d);
  ASSERT_EQ(alerts.size(), expected.size()) << d.log();
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("alert " + std::to_string(i) + ": " + boost::json::serialize(alerts[i]));
    const object& a = alerts[i];
    EXPECT_EQ(a.at("kind").as_string(), expected[i].kind);
    EXPECT_EQ(a.at("severity").as_string(), expected[i].severity);
    EXPECT_EQ(Recipients(a), expected[i].recipients);
    EXPECT_EQ(a.at("in_custody").as_bool(), expected[i].in_custody);
    EXPECT_TRUE(a.at("late").as_bool()) << "2013 events are late";
    EXPECT_EQ(a.at("person_id").as_string(), kSubject2013);
    EXPECT_EQ(a.at("instrument_id").as_string(), kBail2013);
  }
  // Specifics.
  EXPECT_EQ(alerts[2].at("reason").as_string(), "breach");
  EXPECT_EQ(alerts[2].at("arresting_officer").as_string(), "MP-PC9001");
  EXPECT_EQ(alerts[2].at("history").as_array().size(), 3u);
  EXPECT_EQ(alerts[3].at("breach_count").to_number<int64_t>(), 3);
  EXPECT_EQ(alerts[10].at("outcome").as_string(), "court_bailed");
  ASSERT_EQ(alerts[10].at("instruments").as_array().size(), 1u);
  EXPECT_EQ(alerts[10].at("instruments").as_array()[0].at("instrument_id").as_string(), kBail2013);

  // The OIC's topic got the two curfew breaches, the arrest and the release:
  // nothing while the subject was in custody.
  auto got = ReceiveUntil(
      *oic, [](const object& a) { return a.at("kind").as_string() == "custody_release"; },
      std::chrono::system_clock::now() + seconds(5), &found);
  ASSERT_TRUE(found) << "custody_release never reached the OIC\n" << d.log();
  for (auto& a : got) oic_got.push_back(std::move(a));
  for (auto& a : DrainQueued(*oic)) oic_got.push_back(std::move(a));
  std::vector<std::string> kinds;
  for (const auto& a : oic_got) kinds.push_back(Str(a.at("kind")));
  EXPECT_EQ(kinds, (std::vector<std::string>{"curfew_breach", "curfew_breach", "breach_arrest",
                                             "custody_release"}));

  // In custody during those days, and not after the release.
  auto during = d.Call("conditions.person",
                       {{"person_id", kSubject2013}, {"at_time", "2013-07-08T12:00:00+01:00"}});
  ASSERT_TRUE(during.at("ok").as_bool()) << boost::json::serialize(during);
  EXPECT_TRUE(during.at("in_custody").as_bool());
  auto after = d.Call("conditions.person",
                      {{"person_id", kSubject2013}, {"at_time", "2013-07-12T12:00:00+01:00"}});
  EXPECT_FALSE(after.at("in_custody").as_bool());
}

// ---------------------------------------------------------------------------
// 2. The 2016 sequence: police bail excluding Lewisham and a second instrument
// with another OIC; a breach arrest naming neither; re-bail; checks in
// Lewisham until the repeat breach.

constexpr char kSubject2016[] = "PNC-79/123456X";
constexpr char kBail2016[] = "BAIL/LW/2016/0412";
constexpr char kOrder2016[] = "NMO/GR/2016/0031";

object PoliceBail2016() {
  return {
      {"instrument_id", kBail2016},
      {"kind", "police_bail"},
      {"subject", kSubject2016},
      {"protected_persons", array{"PNC-72/654321Y"}},
      {"case_ref", "01LW/12345/16"},
      {"offence", "common assault"},
      {"oic", "MP-PC1234"},
      {"supervisor", "MP-DS0077"},
      {"owning_control", "E09000023"},
      {"safety_contacts", array{"IDVA-LW-03"}},
      {"valid_from", "2016-05-10T14:00:00Z"},
      {"valid_until", "2016-09-30T09:00:00Z"},
      {"conditions",
       array{object{{"condition_id", "c1"}, {"kind", "exclusion_zone"}, {"zone", "E09000023"}}}}};
}

object NonMolestation2016() {
  return {
      {"instrument_id", kOrder2016},
      {"kind", "non_molestation_order"},
      {"subject", kSubject2016},
      {"protected_persons", array{"PNC-80/111111Z"}},
      {"case_ref", "GR16F00031"},
      {"oic", "MP-PC4321"},
      {"supervisor", "MP-DS0099"},
      {"owning_control", "E09000011"},
      {"safety_contacts", array{"IDVA-GR-01"}},
      {"valid_from", "2016-04-01T10:00:00Z"},
      {"valid_until", nullptr},
      {"conditions",
       array{object{{"condition_id", "n1"}, {"kind", "no_contact"}, {"person", "PNC-80/111111Z"}},
             object{{"condition_id", "n2"},
                    {"kind", "not_to_attend"},
                    {"place", Place("protected person's home", kInGreenwich, 100)}}}}};
}

TEST(Custody2016, BreachArrestReachesEveryCaseRebailIsAVersionRepeatBreachAtThree) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Feeds f(&d);
  ASSERT_TRUE(f.Send("orders", "family-court-greenwich", "instrument.granted",
                     "2016-04-01T10:00:00Z", {{"instrument", NonMolestation2016()}}));
  ASSERT_TRUE(f.Send("orders", "bail-lewisham", "instrument.granted", "2016-05-10T14:00:00Z",
                     {{"instrument", PoliceBail2016()}}));
  ASSERT_TRUE(f.Send("custody", "custody-lewisham", "custody.arrested", "2016-06-01T21:00:00+01:00",
                     {{"person_id", kSubject2016},
                      {"arresting_officer", "MP-PC7777"},
                      {"reason", "breach"},
                      {"custody_suite", "Lewisham"},
                      {"at", kInLewisham}}));

  auto alerts = StoredAlerts(d);
  auto arrests = OfKind(alerts, "breach_arrest");
  ASSERT_FALSE(arrests.empty()) << d.log();
  std::set<std::string> arrest_recipients, arrest_instruments;
  for (const auto& a : arrests) {
    EXPECT_EQ(a.at("severity").as_string(), "high");
    EXPECT_TRUE(a.at("in_custody").as_bool());
    auto r = Recipients(a);
    arrest_recipients.insert(r.begin(), r.end());
    arrest_instruments.insert(Str(a.at("instrument_id")));
  }
  EXPECT_EQ(arrest_recipients, (std::set<std::string>{"officer/MP-PC1234/", "officer/MP-DS0077/",
                                                      "officer/MP-PC4321/", "officer/MP-DS0099/"}));
  EXPECT_EQ(arrest_instruments, (std::set<std::string>{kBail2016, kOrder2016}));
  EXPECT_TRUE(OfKind(alerts, "repeat_breach").empty()) << "one breach so far";

  ASSERT_TRUE(f.Send("custody", "custody-lewisham", "custody.released", "2016-06-02T11:00:00+01:00",
                     {{"person_id", kSubject2016}, {"outcome", "rebailed"}}));
  // Re-bail on identical conditions: a variation, recorded as version 2.
  ASSERT_TRUE(f.Send("orders", "bail-lewisham", "instrument.varied", "2016-06-02T11:05:00+01:00",
                     {{"instrument", PoliceBail2016()}}));

  alerts = StoredAlerts(d);
  auto releases = OfKind(alerts, "custody_release");
  std::set<std::string> release_recipients;
  for (const auto& a : releases) {
    EXPECT_EQ(a.at("outcome").as_string(), "rebailed");
    EXPECT_FALSE(a.at("in_custody").as_bool());
    EXPECT_EQ(a.at("instruments").as_array().size(), 2u);
    auto r = Recipients(a);
    release_recipients.insert(r.begin(), r.end());
  }
  EXPECT_EQ(release_recipients,
            (std::set<std::string>{"officer/MP-PC1234/", "officer/IDVA-LW-03/",
                                   "officer/MP-PC4321/", "officer/IDVA-GR-01/"}));

  auto history = d.Call("history.person", {{"person_id", kSubject2016}});
  ASSERT_TRUE(history.at("ok").as_bool()) << boost::json::serialize(history);
  std::vector<std::pair<std::string, int64_t>> bail_versions;
  for (const auto& row : history.at("history").as_array()) {
    const auto& detail = row.at("detail");
    if (!Str(row.at("what")).starts_with("instrument ") || !detail.is_object() ||
        detail.at("instrument_id").as_string() != kBail2016) {
      continue;
    }
    bail_versions.emplace_back(Str(row.at("what")), detail.at("version").to_number<int64_t>());
    EXPECT_EQ(detail.at("instrument").at("conditions"), PoliceBail2016().at("conditions"));
  }
  EXPECT_EQ(bail_versions, (std::vector<std::pair<std::string, int64_t>>{{"instrument granted", 1},
                                                                         {"instrument varied", 2}}))
      << boost::json::serialize(history);

  // A check in Lewisham: the exclusion breach and the conditions for the officer.
  const object check{{"person_id", kSubject2016}, {"officer_id", "MP-PC5555"}, {"at", kInLewisham}};
  ASSERT_TRUE(f.Send("check", "checks-met", "check.person", "2016-08-13T20:14:05Z", check));
  alerts = StoredAlerts(d);
  auto zone = OfKind(alerts, "exclusion_zone_breach");
  ASSERT_EQ(zone.size(), 1u) << d.log();
  EXPECT_EQ(zone[0].at("severity").as_string(), "critical");
  EXPECT_EQ(zone[0].at("instrument_id").as_string(), kBail2016);
  EXPECT_EQ(zone[0].at("condition_id").as_string(), "c1");
  EXPECT_EQ(Recipients(zone[0]), (std::set<std::string>{"officer/MP-PC5555/", "officer/MP-PC1234/",
                                                        "control/E09000023/"}));
  auto results = OfKind(alerts, "check_result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(Recipients(results[0]), std::set<std::string>{"officer/MP-PC5555/"});
  EXPECT_EQ(results[0].at("breached").as_array(), array{"c1"});
  EXPECT_EQ(results[0].at("instruments").as_array().size(), 2u);
  EXPECT_TRUE(OfKind(alerts, "repeat_breach").empty()) << "two breaches so far";

  // A second check inside Lewisham: the third breach in 90 days.
  ASSERT_TRUE(f.Send("check", "checks-met", "check.person", "2016-08-13T20:40:00Z", check));
  alerts = StoredAlerts(d);
  auto repeats = OfKind(alerts, "repeat_breach");
  ASSERT_EQ(repeats.size(), 1u) << d.log();
  EXPECT_EQ(repeats[0].at("severity").as_string(), "high");
  EXPECT_EQ(repeats[0].at("breach_count").to_number<int64_t>(), 3);
  // The person's history (protocol 9.1), newest first: the two checks, the re-bail (a variation on
  // the same conditions), the release and the breach arrest.
  std::vector<std::string> history_kinds;
  for (const auto& h : repeats[0].at("history").as_array())
    history_kinds.push_back(Str(h.at("kind")));
  EXPECT_EQ(history_kinds,
            (std::vector<std::string>{"exclusion_zone_breach", "exclusion_zone_breach",
                                      "instrument_varied", "custody_release", "breach_arrest"}));
  EXPECT_EQ(Recipients(repeats[0]),
            (std::set<std::string>{"officer/MP-DS0077/", "control/E09000023/", "officer/MP-DS0099/",
                                   "control/E09000011/"}));
  EXPECT_EQ(OfKind(alerts, "exclusion_zone_breach").size(), 2u);
}

// ---------------------------------------------------------------------------
// 3. Escalation with a kill -9 in the middle; acknowledgement and resolution.

constexpr int64_t kSlaS = 2;

object LewishamExclusion(const std::string& id, const std::string& subject,
                         const std::string& owning_control) {
  return {
      {"instrument_id", id},
      {"kind", "police_bail"},
      {"subject", subject},
      {"case_ref", "01LW/12345/16"},
      {"oic", "MP-PC1234"},
      {"supervisor", "MP-DS0077"},
      {"owning_control", owning_control},
      {"valid_from", Now(-3600)},
      {"valid_until", nullptr},
      {"conditions",
       array{object{{"condition_id", "c1"}, {"kind", "exclusion_zone"}, {"zone", "E09000023"}}}}};
}

bool IsUnackedAbout(const object& a, const std::string& about, int64_t level) {
  return a.at("kind").as_string() == "unacknowledged" && a.contains("about_alert_id") &&
         a.at("about_alert_id").as_string() == about && a.contains("level") &&
         a.at("level").to_number<int64_t>() == level;
}

int CountUnacked(const std::vector<object>& alerts, const std::string& about, int64_t level) {
  return static_cast<int>(std::count_if(alerts.begin(), alerts.end(), [&](const object& a) {
    return IsUnackedAbout(a, about, level);
  }));
}

std::vector<std::string> OpenIds(DaemonProcess& d, const std::string& recipient = "") {
  object body;
  if (!recipient.empty()) body["recipient"] = recipient;
  auto r = d.Call("alerts.open", body);
  std::vector<std::string> ids;
  if (!r.contains("alerts")) return ids;
  for (const auto& a : r.at("alerts").as_array()) ids.push_back(Str(a.at("alert_id")));
  return ids;
}

std::string ErrorCodeOf(const object& reply) {
  if (!reply.contains("error")) return "";
  return Str(reply.at("error").at("code"));
}

TEST(Escalation, UnacknowledgedGoesToSupervisorThenControlRoomsOnTimeAcrossKillNine) {
  DaemonProcess d;
  d.config().policy.ack_sla_s = {.critical_s = 2, .high_s = 2, .medium_s = 2};
  d.WriteConfig();
  ASSERT_EQ(ExitCode(std::string(BREACHWATCHD_PATH) + " --config " + d.config_path() +
                     " --check > /dev/null 2>&1"),
            0)
      << "an ack SLA of 2 s must be a valid config";
  ASSERT_TRUE(d.Start()) << d.log();
  auto supervisor = d.Subscribe("officer/MP-DS0077/");
  auto owning = d.Subscribe("control/E09000011/");
  ASSERT_TRUE(ConfirmSubscribed(d, *supervisor, "MP-DS0077")) << d.log();

  Feeds f(&d);
  // Two people on bail excluding them from Lewisham, the same supervisor.
  constexpr char kOther[] = "PNC-81/222222B";
  ASSERT_TRUE(f.Send("orders", "bail-lewisham", "instrument.granted", Now(),
                     {{"instrument", LewishamExclusion(kBail2016, kSubject2016, "E09000011")}}));
  ASSERT_TRUE(
      f.Send("orders", "bail-lewisham", "instrument.granted", Now(),
             {{"instrument", LewishamExclusion("BAIL/LW/2016/0413", kOther, "E09000011")}}));
  const object check{{"person_id", kSubject2016}, {"officer_id", "MP-PC5555"}, {"at", kInLewisham}};
  ASSERT_TRUE(f.Send("check", "checks-met", "check.person", Now(), check));
  ASSERT_TRUE(f.Send("check", "checks-met", "check.person", Now(), check));
  object other_check = check;
  other_check["person_id"] = kOther;
  ASSERT_TRUE(f.Send("check", "checks-met", "check.person", Now(), other_check));
  auto breaches = OfKind(StoredAlerts(d), "exclusion_zone_breach");
  ASSERT_EQ(breaches.size(), 3u) << d.log();
  // Never acknowledged; acknowledged within the SLA; acknowledged after level 1.
  const std::string unacked_id = Str(breaches[0].at("alert_id"));
  const std::string acked_id = Str(breaches[1].at("alert_id"));
  const std::string late_ack_id = Str(breaches[2].at("alert_id"));
  const TimePoint raised = TimeOf(breaches[0], "raised_at");
  const TimePoint acked_raised = TimeOf(breaches[1], "raised_at");
  EXPECT_EQ(Recipients(breaches[0]),
            (std::set<std::string>{"officer/MP-PC5555/", "officer/MP-PC1234/", "control/E09000023/",
                                   "control/E09000011/"}));

  // The second breach is acknowledged within its SLA.
  auto ack = d.Call("alert.ack", {{"alert_id", acked_id}, {"officer_id", "MP-PC1234"}});
  ASSERT_TRUE(ack.at("ok").as_bool()) << boost::json::serialize(ack);
  EXPECT_TRUE(ack.at("alert").at("acked").as_bool());
  ASSERT_LT(SystemClock().Now(), acked_raised + seconds(kSlaS)) << "ack came too late to test";

  // Level 1 to the supervisor at raised_at + SLA, for both unacknowledged alerts.
  bool found = false;
  std::optional<object> level1, late_level1;
  ReceiveUntil(
      *supervisor,
      [&](const object& a) {
        if (IsUnackedAbout(a, unacked_id, 1)) level1 = a;
        if (IsUnackedAbout(a, late_ack_id, 1)) late_level1 = a;
        return level1 && late_level1;
      },
      raised + seconds(kSlaS + 5), &found);
  ASSERT_TRUE(level1) << "no level-1 unacknowledged alert on officer/MP-DS0077/\n" << d.log();
  ASSERT_TRUE(late_level1) << "no level-1 alert about the third breach\n" << d.log();
  // The supervisor acknowledges the third breach: it goes no further.
  auto late_ack = d.Call("alert.ack", {{"alert_id", late_ack_id}, {"officer_id", "MP-DS0077"}});
  ASSERT_TRUE(late_ack.at("ok").as_bool()) << boost::json::serialize(late_ack);
  EXPECT_EQ(level1->at("severity").as_string(), "critical");
  EXPECT_EQ(Recipients(*level1), std::set<std::string>{"officer/MP-DS0077/"});
  EXPECT_EQ(level1->at("person_id").as_string(), kSubject2016);
  EXPECT_GE(TimeOf(*level1, "raised_at"), raised + seconds(kSlaS));
  EXPECT_LE(TimeOf(*level1, "raised_at"), raised + seconds(kSlaS) + milliseconds(1500));

  // kill -9 before level 2 is due, and start again.
  ASSERT_LT(SystemClock().Now(),
            TimeOf(breaches[2], "raised_at") + seconds(2 * kSlaS) - milliseconds(300))
      << "level 1 came too late to kill the daemon before level 2";
  d.Kill9();
  ASSERT_TRUE(d.Start()) << d.log();

  // Level 2 to the control rooms, still at raised_at + 2 x SLA.
  auto got = ReceiveUntil(
      *owning, [&](const object& a) { return IsUnackedAbout(a, unacked_id, 2); },
      raised + seconds(2 * kSlaS + 6), &found);
  ASSERT_TRUE(found) << "no level-2 unacknowledged alert on control/E09000011/\n" << d.log();
  const object level2 = got.back();
  EXPECT_EQ(Recipients(level2),
            (std::set<std::string>{"control/E09000023/", "control/E09000011/"}));
  EXPECT_GE(TimeOf(level2, "raised_at"), raised + seconds(2 * kSlaS));
  EXPECT_LE(TimeOf(level2, "raised_at"), raised + seconds(2 * kSlaS) + milliseconds(2500))
      << "the restart must not reset the escalation clock";

  // Exactly once each, and never for the acknowledged alert: give the daemon
  // a few more ticks past every deadline, then count.
  std::this_thread::sleep_until(
      std::max(SystemClock().Now() + milliseconds(1500),
               TimeOf(breaches[2], "raised_at") + seconds(2 * kSlaS) + milliseconds(1500)));
  auto all = StoredAlerts(d);
  EXPECT_EQ(CountUnacked(all, unacked_id, 1), 1);
  EXPECT_EQ(CountUnacked(all, unacked_id, 2), 1);
  EXPECT_EQ(CountUnacked(all, acked_id, 1) + CountUnacked(all, acked_id, 2), 0);
  EXPECT_EQ(CountUnacked(all, late_ack_id, 1), 1);
  EXPECT_EQ(CountUnacked(all, late_ack_id, 2), 0) << "acknowledged after level 1";
  for (const auto& a : all) {
    EXPECT_FALSE(a.at("kind").as_string() == "unacknowledged" &&
                 a.at("about_alert_id").as_string() != unacked_id &&
                 a.at("about_alert_id").as_string() != late_ack_id)
        << "unexpected escalation: " << boost::json::serialize(a);
  }
  for (const auto& a : DrainQueued(*supervisor)) {
    EXPECT_FALSE(IsUnackedAbout(a, unacked_id, 1)) << "level 1 repeated after the restart";
  }

  // alerts.open: by recipient; info never listed; the acked alert listed as acked.
  EXPECT_EQ(
      OpenIds(d, "officer/MP-DS0077/"),
      (std::vector<std::string>{Str(level1->at("alert_id")), Str(late_level1->at("alert_id"))}));
  auto checker_open = d.Call("alerts.open", {{"recipient", "officer/MP-PC5555/"}});
  ASSERT_TRUE(checker_open.at("ok").as_bool()) << boost::json::serialize(checker_open);
  std::map<std::string, bool> acked_by_id;
  for (const auto& a : checker_open.at("alerts").as_array()) {
    EXPECT_EQ(a.at("kind").as_string(), "exclusion_zone_breach") << "check_result is info";
    acked_by_id[Str(a.at("alert_id"))] = a.at("acked").as_bool();
  }
  EXPECT_EQ(acked_by_id, (std::map<std::string, bool>{
                             {unacked_id, false}, {acked_id, true}, {late_ack_id, true}}));
  auto room_open = OpenIds(d, "control/E09000011/");
  EXPECT_EQ(std::set<std::string>(room_open.begin(), room_open.end()),
            (std::set<std::string>{unacked_id, acked_id, late_ack_id, Str(level2.at("alert_id"))}));

  // alert.resolve rules.
  auto bad_outcome = d.Call("alert.resolve", {{"alert_id", unacked_id}, {"outcome", "shrugged"}});
  EXPECT_EQ(ErrorCodeOf(bad_outcome), "bad_request") << boost::json::serialize(bad_outcome);
  auto no_note = d.Call("alert.resolve", {{"alert_id", unacked_id}, {"outcome", "no_action"}});
  EXPECT_EQ(ErrorCodeOf(no_note), "bad_request") << boost::json::serialize(no_note);
  auto blank_note =
      d.Call("alert.resolve", {{"alert_id", unacked_id}, {"outcome", "no_action"}, {"note", "  "}});
  EXPECT_EQ(ErrorCodeOf(blank_note), "bad_request") << boost::json::serialize(blank_note);
  auto unknown = d.Call("alert.resolve", {{"alert_id", "01NOSUCHALERT"}, {"outcome", "warned"}});
  EXPECT_EQ(ErrorCodeOf(unknown), "not_found") << boost::json::serialize(unknown);

  const std::string breachctl = std::string(BREACHCTL_PATH) + " --control " + d.control_endpoint() +
                                " --reason 'integration test' ";
  EXPECT_EQ(ExitCode(breachctl + "unactioned --older-than-h 0.0003 > /dev/null"), 1)
      << "open alerts older than 1 s exist";

  auto resolved =
      d.Call("alert.resolve",
             {{"alert_id", unacked_id}, {"outcome", "arrested"}, {"officer_id", "MP-PC1234"}});
  ASSERT_TRUE(resolved.at("ok").as_bool()) << boost::json::serialize(resolved);
  EXPECT_EQ(resolved.at("alert").at("outcome").as_string(), "arrested");
  auto open_now = OpenIds(d);
  EXPECT_EQ(std::count(open_now.begin(), open_now.end(), unacked_id), 0);
  auto twice = d.Call("alert.resolve",
                      {{"alert_id", unacked_id}, {"outcome", "warned"}, {"officer_id", "MP-PC1234"}});
  EXPECT_FALSE(twice.at("ok").as_bool()) << "an outcome is recorded once";
  EXPECT_EQ(ErrorCodeOf(twice), "bad_request") << boost::json::serialize(twice);

  // Record an outcome for everything else (as the supervisor, who may for every alert of the
  // instruments): the report is then empty.
  for (const auto& id : OpenIds(d)) {
    auto r =
        d.Call("alert.resolve", {{"alert_id", id},
                                 {"officer_id", "MP-DS0077"},
                                 {"outcome", "no_action"},
                                 {"note", "escalation of a breach already dealt with (arrested)"}});
    EXPECT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
  }
  EXPECT_TRUE(OpenIds(d).empty());
  EXPECT_EQ(ExitCode(breachctl + "unactioned --older-than-h 0.0003 > /dev/null"), 0);
}

// ---------------------------------------------------------------------------
// 4. instrument_expiring: once, also after a restart.

object Expiring(const std::string& id, int hours_left) {
  return {{"instrument_id", id},
          {"kind", "community_order"},
          {"subject", "PNC-15/333333C"},
          {"case_ref", "01LW/33333/24"},
          {"oic", "MP-OM3001"},
          {"supervisor", "MP-SOM0300"},
          {"owning_control", "E09000023"},
          {"valid_from", Now(-3600)},
          {"valid_until", Now(hours_left * 3600)},
          {"conditions",
           array{object{{"condition_id", "c1"}, {"kind", "other"}, {"text", "unpaid work"}}}}};
}

std::vector<object> ExpiringAlerts(DaemonProcess& d, const std::string& instrument_id) {
  std::vector<object> out;
  for (const auto& a : OfKind(StoredAlerts(d), "instrument_expiring")) {
    if (a.at("instrument_id").as_string() == instrument_id) out.push_back(a);
  }
  return out;
}

TEST(Expiry, InstrumentExpiringReachesTheOicOnceAlsoAfterRestart) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Feeds f(&d);
  const object first = Expiring("CO/LW/2024/0001", 23);
  ASSERT_TRUE(f.Send("orders", "magistrates-bromley", "instrument.granted", Now(),
                     {{"instrument", first}}));
  const auto granted = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      Eventually([&] { return !ExpiringAlerts(d, "CO/LW/2024/0001").empty(); }, milliseconds(3000)))
      << d.log();
  EXPECT_LE(std::chrono::steady_clock::now() - granted, milliseconds(2500));
  auto warned = ExpiringAlerts(d, "CO/LW/2024/0001");
  ASSERT_EQ(warned.size(), 1u);
  EXPECT_EQ(warned[0].at("severity").as_string(), "medium");
  EXPECT_EQ(Recipients(warned[0]), std::set<std::string>{"officer/MP-OM3001/"});
  EXPECT_EQ(warned[0].at("person_id").as_string(), "PNC-15/333333C");
  EXPECT_EQ(warned[0].at("valid_until").as_string(), first.at("valid_until").as_string());

  d.Kill9();
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(d.AwaitFeedSubscription("orders")) << d.log();
  // A second instrument warned about after the restart proves the tick rules
  // have run on the restored state.
  ASSERT_TRUE(f.Send("orders", "magistrates-bromley", "instrument.granted", Now(),
                     {{"instrument", Expiring("CO/LW/2024/0002", 22)}}));
  ASSERT_TRUE(
      Eventually([&] { return !ExpiringAlerts(d, "CO/LW/2024/0002").empty(); }, milliseconds(3000)))
      << d.log();
  EXPECT_EQ(ExpiringAlerts(d, "CO/LW/2024/0001").size(), 1u) << "warned again after restart";
  EXPECT_EQ(ExpiringAlerts(d, "CO/LW/2024/0002").size(), 1u);
}

// Spec 6.4: level 2 goes to the owning control room AND the control room of
// the area where it happened, also for a high-severity breach that was sent to
// the OIC alone (a curfew breach seen from a GPS fix in another borough).
TEST(Escalation, LevelTwoAlsoReachesTheControlRoomOfTheArea) {
  DaemonProcess d;
  d.config().policy.ack_sla_s = {.critical_s = 2, .high_s = 2, .medium_s = 2};
  ASSERT_TRUE(d.Start()) << d.log();
  Feeds f(&d);
  object bail = CourtBail2013();
  bail["owning_control"] = "E09000011";  // Greenwich owns the case
  ASSERT_TRUE(f.Send("orders", "crown-court-woolwich", "instrument.granted",
                     "2013-06-20T10:00:00+01:00", {{"instrument", bail}}));
  // 22:00 in the 19:00-07:00 curfew, in Lewisham, far from the bail address.
  ASSERT_TRUE(f.Send("tag", "em-provider", "tag.position", "2013-07-02T22:00:00+01:00",
                     {{"person_id", kSubject2013},
                      {"device_id", "EM-TAG-55012"},
                      {"at", kInLewisham},
                      {"accuracy_m", 8}}));
  auto curfew = OfKind(StoredAlerts(d), "curfew_breach");
  ASSERT_EQ(curfew.size(), 1u) << d.log();
  EXPECT_EQ(curfew[0].at("severity").as_string(), "high");
  EXPECT_EQ(curfew[0].at("location").at("areas").as_array(), array{"E09000023"});
  const std::string id = Str(curfew[0].at("alert_id"));
  const TimePoint raised = TimeOf(curfew[0], "raised_at");

  std::optional<object> level2;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& a : StoredAlerts(d)) {
          if (IsUnackedAbout(a, id, 2)) level2 = a;
        }
        return level2.has_value();
      },
      std::chrono::duration_cast<milliseconds>(raised + seconds(2 * kSlaS + 5) -
                                               SystemClock().Now())))
      << d.log();
  EXPECT_EQ(Recipients(*level2),
            (std::set<std::string>{"control/E09000011/", "control/E09000023/"}))
      << "level 2 must reach the owning control room and the control room of the area";
}

}  // namespace
}  // namespace bw::testing
