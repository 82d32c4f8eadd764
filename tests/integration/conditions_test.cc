// Integration tests for issue "Every instrument and condition, matched at the
// time things happened": every instrument kind and every condition kind, judged
// by the real breachwatchd at the event's time, and every query op against a
// known state.
//
// Events are published on the feeds with the correct per-source seq (each one
// only after the previous one has been handled: the order matters for zone
// crossings, episodes and variations) or submitted with event.submit.  The
// alerts an event raised are read back with alerts.since and picked out by
// their `caused_by`.
//
// Places (ONS MSOA population-weighted centroids, checked against the shipped
// London borough boundaries):
//   kInLewisham      inside Lewisham (E09000023)
//   kInGreenwich     inside Greenwich (E09000011), 2.9 km north of kInLewisham
//   kInSouthwark     west of Lewisham;  kEastOfLewisham  east of it (Greenwich):
//                    the straight line between them crosses Lewisham
//   kJitterIn/Out    about 20 m either side of the Lewisham/Greenwich boundary
#include <date/tz.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
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
using boost::json::value;
using std::chrono::milliseconds;
using std::chrono::seconds;

const array kInSouthwark = {-0.09, 51.455};
const array kEastOfLewisham = {0.05, 51.455};
const array kJitterIn = {-0.021044, 51.4734436};
const array kJitterOut = {-0.0209283, 51.4737956};
// The protected person's home (in Greenwich) and a point about 55 m from it.
const array kHome = kInGreenwich;
const array kNearHome = {-0.018494194999263, 51.4817};
// A bail address (Woolwich, Greenwich).
const array kBailAddress = {0.0640, 51.4890};

constexpr char kOic[] = "MP-PC1234";
constexpr char kSupervisor[] = "MP-DS0077";
constexpr char kOwningControl[] = "E09000011";
constexpr char kChecker[] = "MP-PC5555";
constexpr char kProtected[] = "PNC-72/654321Y";

// Feed sources.
constexpr char kOrders[] = "court-orders";
constexpr char kTag[] = "em-provider";
constexpr char kChecks[] = "checks-met";

const std::set<std::string> kBreachKinds = {"exclusion_zone_breach", "zone_crossed",
                                            "address_breach", "no_contact_breach", "curfew_breach"};

std::string Str(const value& v) { return std::string(v.as_string()); }

std::vector<object> OfKind(const std::vector<object>& alerts, const std::string& kind) {
  std::vector<object> out;
  for (const auto& a : alerts) {
    if (a.at("kind").as_string() == kind) out.push_back(a);
  }
  return out;
}

// The breach kinds among `alerts`, sorted.
std::vector<std::string> BreachKinds(const std::vector<object>& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) {
    if (kBreachKinds.count(Str(a.at("kind")))) out.push_back(Str(a.at("kind")));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Dump(const std::vector<object>& alerts) {
  std::string s;
  for (const auto& a : alerts) s += boost::json::serialize(a) + "\n";
  return s;
}

std::set<std::string> Recipients(const object& alert) {
  std::set<std::string> out;
  for (const auto& r : alert.at("recipients").as_array()) out.insert(Str(r));
  return out;
}

std::set<std::string> ConditionIds(const object& instrument) {
  std::set<std::string> out;
  for (const auto& c : instrument.at("conditions").as_array()) {
    out.insert(Str(c.at("condition_id")));
  }
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ExitCode(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Drives the daemon as its feeds and a manual-entry client would, and hands
// back the alerts each event raised.
class Driver {
 public:
  explicit Driver(DaemonProcess* d) : d_(d) {}

  // Publishes an event of `type` on `feed` as the next message of `source`
  // (seq + 1), waits until the daemon has handled it, and returns the alerts
  // it raised.
  std::vector<object> Publish(const std::string& feed, const std::string& source,
                              const std::string& type, const std::string& time, object fields) {
    const int64_t seq = ++seq_[source];
    const std::string id = source + "-" + std::to_string(seq);
    fields["id"] = id;
    fields["source"] = source;
    fields["seq"] = seq;
    fields["type"] = type;
    fields["time"] = time;
    d_->Publish(feed, boost::json::serialize(fields));
    if (!Eventually([&] { return LastSeq(feed, source) >= seq; })) {
      ADD_FAILURE() << type << " " << id << " on feed " << feed << " was not handled within 10 s\n"
                    << d_->log();
      return {};
    }
    return RaisedBy(source, id);
  }

  std::vector<object> Order(const std::string& type, const std::string& time, object fields) {
    return Publish("orders", kOrders, type, time, std::move(fields));
  }
  std::vector<object> Grant(const object& instrument, const std::string& time) {
    return Order("instrument.granted", time, {{"instrument", instrument}});
  }
  std::vector<object> Tag(const std::string& type, const std::string& time, object fields) {
    return Publish("tag", kTag, type, time, std::move(fields));
  }
  std::vector<object> Check(const std::string& type, const std::string& time, object fields) {
    return Publish("check", kChecks, type, time, std::move(fields));
  }

  // event.submit of `event` (id and source filled in when missing); the reply.
  object Submit(object event) {
    if (!event.contains("id")) event["id"] = "manual-" + std::to_string(++manual_);
    if (!event.contains("source")) event["source"] = "manual-entry";
    return d_->Call("event.submit", {{"event", event}});
  }

  // Stored alerts caused by (source, id), among those not yet seen.
  std::vector<object> RaisedBy(const std::string& source, const std::string& id) {
    std::vector<object> out;
    for (auto& a : d_->AlertsSince(seen_)) {
      seen_ = std::max(seen_, a.at("seq").to_number<int64_t>());
      if (!a.contains("caused_by")) continue;
      const auto& cb = a.at("caused_by").as_object();
      if (cb.at("source").as_string() == source && cb.at("id").as_string() == id) {
        out.push_back(std::move(a));
      }
    }
    return out;
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
  std::map<std::string, int64_t> seq_;
  int64_t seen_ = 0;
  int manual_ = 0;
};

// ---------------------------------------------------------------------------
// Builders for section-3 instruments and section-4 events.

object Place(const std::string& label, const array& at, double radius_m) {
  return {{"label", label}, {"at", at}, {"radius_m", radius_m}};
}

object Exclusion(const std::string& id, value zone) {
  return {{"condition_id", id}, {"kind", "exclusion_zone"}, {"zone", std::move(zone)}};
}

object NotToAttend(const std::string& id, const array& at, double radius_m) {
  return {{"condition_id", id},
          {"kind", "not_to_attend"},
          {"place", Place("protected person's home", at, radius_m)}};
}

object NoContact(const std::string& id, const std::string& person) {
  return {{"condition_id", id}, {"kind", "no_contact"}, {"person", person}};
}

object Curfew(const std::string& id, array days, const std::string& start, const std::string& end,
              int grace_min = 5, const std::string& tz = "Europe/London") {
  return {{"condition_id", id},
          {"kind", "curfew"},
          {"place", Place("bail address", kBailAddress, 50)},
          {"windows", array{object{{"days", std::move(days)}, {"start", start}, {"end", end}}}},
          {"tz", tz},
          {"grace_min", grace_min}};
}

array EveryDay() { return {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}; }

object Residence(const std::string& id) {
  return {{"condition_id", id},
          {"kind", "residence"},
          {"place", Place("bail address", kBailAddress, 50)}};
}

object Other(const std::string& id) {
  return {{"condition_id", id},
          {"kind", "other"},
          {"text", "must engage with the community drug and alcohol service"}};
}

// A GeoJSON Polygon of one ring.  Not `array{ring}`: list-initialising an array from one array
// copies it under clang (CWG 1467) where GCC makes a one-element list, so the coordinates would be
// the ring itself and the order rejected ("ring must have at least 4 positions, got 2").
object Polygon(array ring) {
  array rings;
  rings.emplace_back(std::move(ring));
  return {{"type", "Polygon"}, {"coordinates", std::move(rings)}};
}

// A small square drawn on the order, around kInGreenwich (not around kInLewisham).
object InlineSquare() {
  return Polygon(array{array{-0.0200, 51.4800}, array{-0.0170, 51.4800}, array{-0.0170, 51.4825},
                       array{-0.0200, 51.4825}, array{-0.0200, 51.4800}});
}

object MakeInstrument(const std::string& id, const std::string& kind, const std::string& subject,
                      array conditions, const std::string& valid_from = "2026-01-01T00:00:00Z",
                      value valid_until = nullptr) {
  return {{"instrument_id", id},
          {"kind", kind},
          {"subject", subject},
          {"protected_persons", array{kProtected}},
          {"case_ref", "01LW/" + id},
          {"offence", "common assault"},
          {"oic", kOic},
          {"supervisor", kSupervisor},
          {"owning_control", kOwningControl},
          {"safety_contacts", array{"IDVA-LW-03"}},
          {"valid_from", valid_from},
          {"valid_until", std::move(valid_until)},
          {"conditions", std::move(conditions)}};
}

object Fix(const std::string& person, const array& at, double accuracy_m = 10) {
  return {{"person_id", person},
          {"device_id", "TAG-" + person},
          {"at", at},
          {"accuracy_m", accuracy_m}};
}

object HomeUnit(const std::string& person, const std::string& state) {
  return {{"person_id", person}, {"device_id", "HMU-" + person}, {"state", state}};
}

object PersonCheck(const std::string& person, const array& at) {
  return {{"person_id", person}, {"officer_id", kChecker}, {"at", at}};
}

object Incident(const std::string& ref, array persons, const array& at) {
  return {{"incident_ref", ref},
          {"officer_id", kChecker},
          {"persons", std::move(persons)},
          {"at", at},
          {"summary", "disturbance reported by a neighbour"}};
}

// Minutes after local midnight on the Europe/London wall clock, now.
int LondonMinutesNow() {
  const auto local =
      date::make_zoned("Europe/London", std::chrono::system_clock::now()).get_local_time();
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::minutes>(local - date::floor<date::days>(local))
          .count());
}

std::string Clock24(int minutes) {
  minutes = ((minutes % 1440) + 1440) % 1440;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

object ConditionsOf(DaemonProcess& d, const std::string& person, const std::string& at_time = "") {
  object body{{"person_id", person}};
  if (!at_time.empty()) body["at_time"] = at_time;
  auto r = d.Call("conditions.person", body);
  EXPECT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
  return r;
}

size_t InstrumentCount(DaemonProcess& d, const std::string& person,
                       const std::string& at_time = "") {
  auto r = ConditionsOf(d, person, at_time);
  return r.contains("instruments") ? r.at("instruments").as_array().size() : 0;
}

// ---------------------------------------------------------------------------
// Every instrument kind, granted and matched.

struct Probe {
  std::string feed;  // "tag" or "check"
  std::string type;
  std::string time;
  object fields;
};
using ProbeFn = std::function<Probe(const std::string& subject)>;

ProbeFn CheckAt(const array& at) {
  return [at](const std::string& s) {
    return Probe{"check", "check.person", Now(), PersonCheck(s, at)};
  };
}
ProbeFn FixAt(const array& at, const std::string& time = "") {
  return [at, time](const std::string& s) {
    return Probe{"tag", "tag.position", time.empty() ? Now(-30) : time, Fix(s, at)};
  };
}
ProbeFn IncidentWith(bool with_protected) {
  return [with_protected](const std::string& s) {
    array persons{s};
    if (with_protected) persons.emplace_back(kProtected);
    return Probe{"check", "check.incident", Now(),
                 Incident("CAD-" + s + (with_protected ? "-both" : "-one"), persons, kInSouthwark)};
  };
}
ProbeFn HomeUnitStartAt(const std::string& time) {
  return [time](const std::string& s) {
    return Probe{"tag", "tag.curfew_violation", time, HomeUnit(s, "start")};
  };
}

TEST(Conditions, EveryInstrumentKindIsGrantedAndMatched) {
  struct Case {
    std::string kind;
    object condition;
    ProbeFn breaching;
    std::string breach_kind;
    ProbeFn harmless;
  };
  // January: London is on GMT, so local time = UTC.
  const std::vector<Case> cases = {
      {"police_bail", Exclusion("c1", "E09000023"), CheckAt(kInLewisham), "exclusion_zone_breach",
       CheckAt(kInGreenwich)},
      {"court_bail", Curfew("c1", EveryDay(), "19:00", "07:00"),
       FixAt(kInLewisham, "2026-01-14T23:00:00Z"), "curfew_breach",
       FixAt(kBailAddress, "2026-01-15T23:00:00Z")},
      {"dvpn", NotToAttend("c1", kHome, 100), CheckAt(kNearHome), "address_breach",
       CheckAt(kInLewisham)},
      {"dvpo", NoContact("c1", kProtected), IncidentWith(true), "no_contact_breach",
       IncidentWith(false)},
      {"dapo", Exclusion("c1", InlineSquare()), FixAt(kInGreenwich), "exclusion_zone_breach",
       FixAt(kInLewisham)},
      {"non_molestation_order", NotToAttend("c1", kHome, 100), FixAt(kNearHome), "address_breach",
       FixAt(kInSouthwark)},
      {"restraining_order", NoContact("c1", kProtected), IncidentWith(true), "no_contact_breach",
       IncidentWith(false)},
      {"community_order", Curfew("c1", EveryDay(), "19:00", "07:00"),
       HomeUnitStartAt("2026-01-14T23:00:00Z"), "curfew_breach",
       HomeUnitStartAt("2026-01-15T12:00:00Z")},
      {"licence", Exclusion("c1", "E09000023"), FixAt(kInLewisham), "exclusion_zone_breach",
       FixAt(kInGreenwich)},
  };
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.kind);
    const std::string subject = "PNC-91/00000" + std::to_string(i) + "K";
    const std::string id = "INS/" + c.kind;
    drive.Grant(MakeInstrument(id, c.kind, subject, array{c.condition}), "2026-01-01T00:00:00Z");
    auto in_force = ConditionsOf(d, subject);
    ASSERT_EQ(in_force.at("instruments").as_array().size(), 1u) << boost::json::serialize(in_force);
    EXPECT_EQ(in_force.at("instruments").as_array()[0].at("kind").as_string(), c.kind);

    Probe b = c.breaching(subject);
    auto raised = drive.Publish(b.feed, b.feed == "tag" ? kTag : kChecks, b.type, b.time, b.fields);
    ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{c.breach_kind}) << Dump(raised);
    const object breach = OfKind(raised, c.breach_kind)[0];
    EXPECT_EQ(breach.at("instrument_id").as_string(), id);
    EXPECT_EQ(breach.at("condition_id").as_string(), "c1");
    EXPECT_EQ(breach.at("person_id").as_string(), subject);
    EXPECT_TRUE(Recipients(breach).count(std::string("officer/") + kOic + "/")) << Dump(raised);

    Probe h = c.harmless(subject);
    raised = drive.Publish(h.feed, h.feed == "tag" ? kTag : kChecks, h.type, h.time, h.fields);
    EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
    if (h.type == "check.person") {
      auto results = OfKind(raised, "check_result");
      ASSERT_EQ(results.size(), 1u) << Dump(raised);
      EXPECT_TRUE(results[0].at("breached").as_array().empty());
      EXPECT_EQ(results[0].at("instruments").as_array().size(), 1u);
    }
  }
}

// ---------------------------------------------------------------------------
// Each condition kind, breaching and not.

TEST(Conditions, ExclusionZoneByGssCodeFromTagAndCheck) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000001A";
  drive.Grant(MakeInstrument("BAIL/GSS", "police_bail", s, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");

  // tag.position: outside, then inside.
  auto raised = drive.Tag("tag.position", Now(-90), Fix(s, kInGreenwich));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Tag("tag.position", Now(-60), Fix(s, kInLewisham, 10));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  const object fix_breach = OfKind(raised, "exclusion_zone_breach")[0];
  EXPECT_EQ(fix_breach.at("severity").as_string(), "critical");
  EXPECT_FALSE(fix_breach.at("late").as_bool());
  EXPECT_EQ(fix_breach.at("location").at("areas").as_array(), array{"E09000023"});
  EXPECT_GT(fix_breach.at("distance_inside_m").to_number<int64_t>(), 10);
  EXPECT_FALSE(Contains(Str(fix_breach.at("summary")), "marginal")) << fix_breach;
  EXPECT_TRUE(Contains(Str(fix_breach.at("summary")), "Lewisham")) << fix_breach;
  EXPECT_EQ(
      Recipients(fix_breach),
      (std::set<std::string>{"officer/MP-PC1234/", "control/E09000023/", "control/E09000011/"}));

  // check.person inside: the breach, and the conditions for the officer.
  raised = drive.Check("check.person", Now(), PersonCheck(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  EXPECT_TRUE(Recipients(OfKind(raised, "exclusion_zone_breach")[0])
                  .count(std::string("officer/") + kChecker + "/"));
  auto result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u) << Dump(raised);
  EXPECT_EQ(result[0].at("breached").as_array(), array{"c1"});

  // check.person outside: only the conditions.
  raised = drive.Check("check.person", Now(), PersonCheck(s, kInGreenwich));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u) << Dump(raised);
  EXPECT_TRUE(result[0].at("breached").as_array().empty());
  EXPECT_EQ(result[0].at("instruments").as_array().size(), 1u);

  // A check given only as an area code: breaches when it is the excluded zone.
  raised = drive.Check("check.person", Now(),
                       {{"person_id", s}, {"officer_id", kChecker}, {"area", "E09000023"}});
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  raised = drive.Check("check.person", Now(),
                       {{"person_id", s}, {"officer_id", kChecker}, {"area", "E09000011"}});
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);

  // On the boundary counts as inside: a vertex of the Lewisham ring, and a
  // point on one of its east-west edges.
  for (const array& on_boundary : {array{-0.016559, 51.469228}, array{-0.0515, 51.422521}}) {
    raised = drive.Check("check.person", Now(), PersonCheck(s, on_boundary));
    EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"})
        << boost::json::serialize(on_boundary) << "\n"
        << Dump(raised);
  }
}

TEST(Conditions, ExclusionZoneDrawnOnTheOrderAsAnInlinePolygon) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000002B";
  drive.Grant(MakeInstrument("DAPO/INLINE", "dapo", s, array{Exclusion("c1", InlineSquare())}),
              "2026-01-01T00:00:00Z");

  auto raised = drive.Tag("tag.position", Now(-90), Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Tag("tag.position", Now(-60), Fix(s, kInGreenwich));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  EXPECT_TRUE(Contains(Str(raised[0].at("summary")), "an excluded area")) << raised[0];

  raised = drive.Check("check.person", Now(), PersonCheck(s, kInGreenwich));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  raised = drive.Check("check.person", Now(), PersonCheck(s, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  ASSERT_EQ(OfKind(raised, "check_result").size(), 1u);
  EXPECT_TRUE(OfKind(raised, "check_result")[0].at("breached").as_array().empty());
  // On the square's southern edge: inside.
  raised = drive.Check("check.person", Now(), PersonCheck(s, array{-0.0185, 51.4800}));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
}

TEST(Conditions, NotToAttendIsWithinTheRadiusGeodesically) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000003C";
  drive.Grant(
      MakeInstrument("NMO/NTA", "non_molestation_order", s, array{NotToAttend("c1", kHome, 100)}),
      "2026-01-01T00:00:00Z");

  auto raised = drive.Check("check.person", Now(), PersonCheck(s, kNearHome));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"address_breach"}) << Dump(raised);
  const object breach = OfKind(raised, "address_breach")[0];
  EXPECT_EQ(breach.at("severity").as_string(), "critical");
  const int64_t distance = breach.at("distance_m").to_number<int64_t>();
  EXPECT_GE(distance, 50);
  EXPECT_LE(distance, 60);
  EXPECT_EQ(OfKind(raised, "check_result")[0].at("breached").as_array(), array{"c1"});

  raised = drive.Check("check.person", Now(), PersonCheck(s, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);

  // A fix 55 m away with a 60 m accuracy: alerted, and said to be marginal.
  raised = drive.Tag("tag.position", Now(-60), Fix(s, kNearHome, 60));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"address_breach"}) << Dump(raised);
  EXPECT_TRUE(Contains(Str(raised[0].at("summary")), "marginal")) << raised[0];
  raised = drive.Tag("tag.position", Now(-30), Fix(s, kInSouthwark, 60));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
}

TEST(Conditions, NoContactNeedsBothPeopleInOneIncident) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000004D";
  drive.Grant(MakeInstrument("DVPO/NC", "dvpo", s, array{NoContact("c1", kProtected)}),
              "2026-01-01T00:00:00Z");

  auto raised =
      drive.Check("check.incident", Now(), Incident("CAD-1", array{kProtected, s}, kInSouthwark));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"no_contact_breach"}) << Dump(raised);
  const object breach = OfKind(raised, BreachKinds(raised)[0])[0];
  EXPECT_EQ(breach.at("severity").as_string(), "critical");
  EXPECT_EQ(breach.at("person_id").as_string(), s);
  EXPECT_EQ(breach.at("protected_person").as_string(), kProtected);
  EXPECT_EQ(breach.at("incident_ref").as_string(), "CAD-1");
  EXPECT_TRUE(Recipients(breach).count(std::string("officer/") + kChecker + "/"));
  EXPECT_TRUE(Recipients(breach).count(std::string("officer/") + kOic + "/"));
  EXPECT_TRUE(OfKind(raised, "check_result").empty()) << "check_result answers check.person only";

  raised = drive.Check("check.incident", Now(), Incident("CAD-2", array{s}, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Check("check.incident", Now(),
                       Incident("CAD-3", array{s, "PNC-99/999999Z"}, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  // The protected person alone is nobody's breach.
  raised = drive.Check("check.incident", Now(), Incident("CAD-4", array{kProtected}, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
}

TEST(Conditions, CurfewFromPositionsInPastWindowsIsMatchedAtEventTimeAndLate) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000005E";
  drive.Grant(MakeInstrument("CB/CURFEW", "court_bail", s,
                             array{Curfew("c1", EveryDay(), "19:00", "07:00", 5)}),
              "2026-01-01T00:00:00Z");

  // 20 January 2026 (GMT: local = UTC).
  auto raised = drive.Tag("tag.position", "2026-01-20T19:03:00Z", Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << "inside the 5 minutes' grace\n" << Dump(raised);
  raised = drive.Tag("tag.position", "2026-01-20T19:10:00Z", Fix(s, kBailAddress));
  EXPECT_TRUE(raised.empty()) << "at the bail address\n" << Dump(raised);
  raised = drive.Tag("tag.position", "2026-01-20T23:00:00Z", Fix(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  const object breach = OfKind(raised, BreachKinds(raised)[0])[0];
  EXPECT_EQ(breach.at("severity").as_string(), "high");
  EXPECT_TRUE(breach.at("late").as_bool());
  EXPECT_EQ(breach.at("event_time").as_string(), "2026-01-20T23:00:00Z");
  EXPECT_EQ(breach.at("window_start").as_string(), "2026-01-20T19:00:00Z");
  EXPECT_EQ(breach.at("window_end").as_string(), "2026-01-21T07:00:00Z");
  EXPECT_GT(breach.at("distance_m").to_number<int64_t>(), 5000);
  EXPECT_EQ(Recipients(breach), std::set<std::string>{"officer/MP-PC1234/"});
  raised = drive.Tag("tag.position", "2026-01-21T12:00:00Z", Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << "outside the window\n" << Dump(raised);

  // 20 July 2026 (BST): 19:30 local is 18:30Z.
  raised = drive.Tag("tag.position", "2026-07-20T18:30:00Z", Fix(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  EXPECT_EQ(raised[0].at("window_start").as_string(), "2026-07-20T18:00:00Z");
  EXPECT_EQ(raised[0].at("window_end").as_string(), "2026-07-21T06:00:00Z");
  raised = drive.Tag("tag.position", "2026-07-21T17:30:00Z", Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << "18:30 BST is before the window\n" << Dump(raised);
}

TEST(Conditions, CurfewFromTheHomeUnitStartsInsideAWindowOfItsStartDay) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000006F";
  // Monday nights only; 5 January 2026 is a Monday.
  drive.Grant(MakeInstrument("CO/HMU", "community_order", s,
                             array{Curfew("c1", array{"mon"}, "21:00", "06:00", 0)}),
              "2026-01-01T00:00:00Z");

  auto raised = drive.Tag("tag.curfew_violation", "2026-01-06T02:00:00Z", HomeUnit(s, "start"));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  EXPECT_TRUE(raised[0].at("late").as_bool());
  EXPECT_EQ(raised[0].at("state").as_string(), "start");
  EXPECT_EQ(raised[0].at("window_start").as_string(), "2026-01-05T21:00:00Z");
  EXPECT_EQ(raised[0].at("window_end").as_string(), "2026-01-06T06:00:00Z");

  raised = drive.Tag("tag.curfew_violation", "2026-01-06T03:00:00Z", HomeUnit(s, "end"));
  EXPECT_TRUE(raised.empty()) << "end closes nothing and raises nothing\n" << Dump(raised);
  raised = drive.Tag("tag.curfew_violation", "2026-01-07T02:00:00Z", HomeUnit(s, "start"));
  EXPECT_TRUE(raised.empty()) << "Wednesday 02:00 is in no window (Tuesday has none)\n"
                              << Dump(raised);
  raised = drive.Tag("tag.curfew_violation", "2026-01-05T12:00:00Z", HomeUnit(s, "start"));
  EXPECT_TRUE(raised.empty()) << "Monday noon\n" << Dump(raised);

  // One absence seen by the tag and then by the home unit pages once.
  raised = drive.Tag("tag.position", "2026-01-12T22:00:00Z", Fix(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  raised = drive.Tag("tag.curfew_violation", "2026-01-12T22:02:00Z", HomeUnit(s, "start"));
  EXPECT_TRUE(raised.empty()) << "same episode\n" << Dump(raised);
}

TEST(Conditions, CurfewWindowAroundTheLondonWallClockNowIsNotLate) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const int now_min = LondonMinutesNow();
  // In force now: from an hour ago to an hour ahead (may cross midnight).
  const std::string start = Clock24(now_min - 60), end = Clock24(now_min + 60);
  // Not in force now: starts in two hours.
  const std::string later_start = Clock24(now_min + 120), later_end = Clock24(now_min + 180);
  SCOPED_TRACE("London now " + Clock24(now_min) + ", window " + start + "-" + end);

  const std::string walker = "PNC-92/000007G", absent = "PNC-92/000008H";
  drive.Grant(MakeInstrument("CB/NOW/1", "court_bail", walker,
                             array{Curfew("c1", EveryDay(), start, end, 5)}),
              Now(-7200));
  drive.Grant(MakeInstrument("CB/NOW/2", "court_bail", absent,
                             array{Curfew("c1", EveryDay(), start, end, 5),
                                   Curfew("c2", EveryDay(), later_start, later_end, 0)}),
              Now(-7200));

  auto raised = drive.Tag("tag.position", Now(-30), Fix(walker, kBailAddress));
  EXPECT_TRUE(raised.empty()) << "at the bail address\n" << Dump(raised);
  raised = drive.Tag("tag.position", Now(-10), Fix(walker, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  EXPECT_FALSE(raised[0].at("late").as_bool());

  raised = drive.Tag("tag.curfew_violation", Now(-5), HomeUnit(absent, "start"));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
  EXPECT_EQ(raised[0].at("condition_id").as_string(), "c1") << "c2's window has not started";
  EXPECT_FALSE(raised[0].at("late").as_bool());
}

TEST(Conditions, CurfewAcrossBothDaylightSavingNightsOf2026) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string spring = "PNC-92/000009J", autumn = "PNC-92/000010K";
  // 29 March 2026: 01:00 GMT jumps to 02:00 BST, so 01:00-03:00 local is
  // [01:00Z, 02:00Z).  25 October 2026: 02:00 BST falls back to 01:00 GMT,
  // so 01:00-02:00 local covers both 01:xx hours, [00:00Z, 02:00Z).
  drive.Grant(MakeInstrument("CB/DST/SPRING", "court_bail", spring,
                             array{Curfew("c1", EveryDay(), "01:00", "03:00", 0)}),
              "2026-01-01T00:00:00Z");
  drive.Grant(MakeInstrument("CB/DST/AUTUMN", "court_bail", autumn,
                             array{Curfew("c1", EveryDay(), "01:00", "02:00", 0)}),
              "2026-01-01T00:00:00Z");

  struct Case {
    std::string person, time;
    bool breach;
    std::string window_start, window_end;
  };
  const std::vector<Case> cases = {
      {spring, "2026-03-29T00:30:00Z", false, "", ""},  // 00:30 GMT
      {spring, "2026-03-29T01:00:00Z", true, "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
      {spring, "2026-03-29T02:15:00Z", false, "", ""},  // 03:15 BST
      {autumn, "2026-10-24T23:30:00Z", false, "", ""},  // 00:30 BST
      {autumn, "2026-10-25T00:30:00Z", true, "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"},
      {autumn, "2026-10-25T01:30:00Z", true, "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"},
      {autumn, "2026-10-25T02:15:00Z", false, "", ""},  // 02:15 GMT
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.person + " " + c.time);
    auto raised = drive.Tag("tag.curfew_violation", c.time, HomeUnit(c.person, "start"));
    if (!c.breach) {
      EXPECT_TRUE(raised.empty()) << Dump(raised);
      continue;
    }
    ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"curfew_breach"}) << Dump(raised);
    EXPECT_EQ(raised[0].at("window_start").as_string(), c.window_start);
    EXPECT_EQ(raised[0].at("window_end").as_string(), c.window_end);
  }
}

TEST(Conditions, ResidenceAndOtherAreListedButNeverAlerted) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-92/000011L";
  drive.Grant(MakeInstrument("LIC/RES", "licence", s, array{Residence("c1"), Other("c2")}),
              "2026-01-01T00:00:00Z");

  // Far from the residence at night, and now: nothing to alert.
  auto raised = drive.Tag("tag.position", "2026-01-20T23:00:00Z", Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Tag("tag.position", Now(-30), Fix(s, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised =
      drive.Check("check.incident", Now(), Incident("CAD-R", array{s, kProtected}, kInLewisham));
  EXPECT_TRUE(raised.empty()) << Dump(raised);

  // Shown to the officer and in conditions.person.
  raised = drive.Check("check.person", Now(), PersonCheck(s, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  auto result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u) << Dump(raised);
  EXPECT_TRUE(result[0].at("breached").as_array().empty());
  ASSERT_EQ(result[0].at("instruments").as_array().size(), 1u);
  EXPECT_EQ(ConditionIds(result[0].at("instruments").as_array()[0].as_object()),
            (std::set<std::string>{"c1", "c2"}));
  auto conditions = ConditionsOf(d, s);
  ASSERT_EQ(conditions.at("instruments").as_array().size(), 1u);
  const auto& listed = conditions.at("instruments").as_array()[0].at("conditions").as_array();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("kind").as_string(), "residence");
  EXPECT_EQ(listed[1].at("kind").as_string(), "other");
  EXPECT_EQ(listed[1].at("text").as_string(),
            "must engage with the community drug and alcohol service");
  // A residence does not forbid presence anywhere.
  auto here = d.Call("conditions.location", {{"at", kBailAddress}});
  ASSERT_TRUE(here.at("ok").as_bool()) << boost::json::serialize(here);
  EXPECT_TRUE(here.at("conditions").as_array().empty()) << boost::json::serialize(here);
}

// ---------------------------------------------------------------------------
// Zone crossings and episodes.

TEST(Conditions, ZoneCrossedBetweenTwoFixesOutsideTheZone) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-93/000001A", t = "PNC-93/000002B";
  drive.Grant(MakeInstrument("BAIL/CROSS/1", "police_bail", s, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");
  drive.Grant(MakeInstrument("BAIL/CROSS/2", "police_bail", t, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");

  // Two fixes 60 s apart, west and east of Lewisham: the segment crosses it.
  auto raised = drive.Tag("tag.position", Now(-2000), Fix(s, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Tag("tag.position", Now(-1940), Fix(s, kEastOfLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"zone_crossed"}) << Dump(raised);
  const object crossing = OfKind(raised, "zone_crossed")[0];
  EXPECT_EQ(crossing.at("severity").as_string(), "high");
  EXPECT_EQ(crossing.at("condition_id").as_string(), "c1");
  EXPECT_EQ(crossing.at("zone").as_string(), "E09000023");
  EXPECT_EQ(crossing.at("gap_s").to_number<int64_t>(), 60);
  EXPECT_EQ(crossing.at("previous_fix").at("at").as_array(), kInSouthwark);
  EXPECT_EQ(Recipients(crossing), std::set<std::string>{"officer/MP-PC1234/"});

  // Fixes further apart than crossing_max_gap_s (600) prove nothing.
  raised = drive.Tag("tag.position", Now(-1240), Fix(s, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << "700 s gap\n" << Dump(raised);

  // An out-of-order fix never fabricates a crossing.
  raised = drive.Tag("tag.position", Now(-100), Fix(t, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  raised = drive.Tag("tag.position", Now(-160), Fix(t, kEastOfLewisham));
  EXPECT_TRUE(raised.empty()) << "older than the last fix\n" << Dump(raised);
  raised = drive.Tag("tag.position", Now(-40), Fix(t, kInSouthwark));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
}

TEST(Conditions, BoundaryJitterIsOneEpisodeWithOneAlert) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-93/000003C";
  drive.Grant(MakeInstrument("BAIL/JITTER", "police_bail", s, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");

  // in, out, in, out, in: 30 s apart, well within exit_debounce_s (300).
  std::vector<object> all;
  const std::vector<array> path = {kJitterIn, kJitterOut, kJitterIn, kJitterOut, kJitterIn};
  for (size_t i = 0; i < path.size(); ++i) {
    auto raised =
        drive.Tag("tag.position", Now(-1200 + 30 * static_cast<int>(i)), Fix(s, path[i], 50));
    all.insert(all.end(), raised.begin(), raised.end());
  }
  ASSERT_EQ(BreachKinds(all), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(all);
  // About 20 m inside with a 50 m accuracy: said to be marginal.
  EXPECT_LE(all[0].at("distance_inside_m").to_number<int64_t>(), 50);
  EXPECT_TRUE(Contains(Str(all[0].at("summary")), "marginal")) << all[0];

  // More than exit_debounce_s after the last breaching fix: a new episode.
  auto raised = drive.Tag("tag.position", Now(-400), Fix(s, kJitterIn, 50));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
}

// Fixes buffered by the tag and delivered late (or replayed to fill a seq gap)
// after a newer episode was recorded: consecutive breaching fixes of that
// earlier visit are still one episode with one alert.
TEST(Conditions, LateRunOfBreachingFixesIsOneEpisodeEvenAfterANewerOne) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-93/000004D";
  drive.Grant(MakeInstrument("BAIL/LATE", "police_bail", s, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");
  auto raised = drive.Tag("tag.position", Now(-60), Fix(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);

  // An hour earlier, three fixes 30 s apart inside the zone, arriving now.
  std::vector<object> late;
  for (int i = 0; i < 3; ++i) {
    raised = drive.Tag("tag.position", Now(-3600 + 30 * i), Fix(s, kInLewisham));
    late.insert(late.end(), raised.begin(), raised.end());
  }
  EXPECT_EQ(BreachKinds(late), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(late);
}

// ---------------------------------------------------------------------------
// Variation, expiry and end: conditions in force at the event's time.

TEST(Conditions, VariationRemovesAConditionFromItsTimeOnlyBitemporal) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-94/000001A";
  const std::string from = "2026-02-01T10:00:00Z", varied = "2026-02-10T10:00:00Z";
  drive.Grant(
      MakeInstrument("BAIL/VAR", "police_bail", s,
                     array{Exclusion("c1", "E09000023"), NotToAttend("c2", kHome, 100)}, from),
      from);
  // Varied on 10 February: the exclusion zone is lifted.
  drive.Order("instrument.varied", varied,
              {{"instrument", MakeInstrument("BAIL/VAR", "police_bail", s,
                                             array{NotToAttend("c2", kHome, 100)}, from)}});

  // Dated before the variation (arriving after it): still a breach.
  auto raised = drive.Check("check.person", "2026-02-05T12:00:00Z", PersonCheck(s, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  EXPECT_TRUE(raised[0].at("late").as_bool());
  auto result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(ConditionIds(result[0].at("instruments").as_array()[0].as_object()),
            (std::set<std::string>{"c1", "c2"}));
  raised = drive.Tag("tag.position", "2026-02-05T13:00:00Z", Fix(s, kInLewisham));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);

  // After the variation: no longer a breach.
  raised = drive.Check("check.person", "2026-02-15T12:00:00Z", PersonCheck(s, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(ConditionIds(result[0].at("instruments").as_array()[0].as_object()),
            std::set<std::string>{"c2"});
  raised = drive.Tag("tag.position", "2026-02-15T13:00:00Z", Fix(s, kInLewisham));
  EXPECT_TRUE(raised.empty()) << Dump(raised);
  // The kept condition still applies after the variation.
  raised = drive.Check("check.person", "2026-02-15T14:00:00Z", PersonCheck(s, kNearHome));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"address_breach"}) << Dump(raised);

  // conditions.person as at each time.
  auto before = ConditionsOf(d, s, "2026-02-05T12:00:00Z");
  ASSERT_EQ(before.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(ConditionIds(before.at("instruments").as_array()[0].as_object()),
            (std::set<std::string>{"c1", "c2"}));
  auto after = ConditionsOf(d, s, "2026-02-15T12:00:00Z");
  ASSERT_EQ(after.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(ConditionIds(after.at("instruments").as_array()[0].as_object()),
            std::set<std::string>{"c2"});
  auto now = ConditionsOf(d, s);
  ASSERT_EQ(now.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(ConditionIds(now.at("instruments").as_array()[0].as_object()),
            std::set<std::string>{"c2"});
  EXPECT_EQ(InstrumentCount(d, s, "2026-01-15T00:00:00Z"), 0u) << "before the grant";
}

TEST(Conditions, ExpiredOrEndedInstrumentHasNothingInForce) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string expired = "PNC-94/000002B", ended = "PNC-94/000003C";
  // Granted (recorded) now, in force 1 January to 1 March 2026 only.
  drive.Grant(
      MakeInstrument("BAIL/EXP", "police_bail", expired, array{Exclusion("c1", "E09000023")},
                     "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
      Now());
  EXPECT_EQ(InstrumentCount(d, expired), 0u);
  EXPECT_EQ(InstrumentCount(d, expired, "2026-03-01T00:00:00Z"), 0u) << "valid_until is exclusive";
  EXPECT_EQ(InstrumentCount(d, expired, "2026-02-28T23:59:59Z"), 1u);

  auto raised = drive.Check("check.person", Now(), PersonCheck(expired, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  auto result = OfKind(raised, "check_result");
  ASSERT_EQ(result.size(), 1u);
  EXPECT_TRUE(result[0].at("instruments").as_array().empty());
  // While it was in force it still counts, however late the event arrives.
  raised = drive.Check("check.person", "2026-02-01T12:00:00Z", PersonCheck(expired, kInLewisham));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);

  // instrument.ended: nothing in force from its time on.
  drive.Grant(MakeInstrument("BAIL/END", "police_bail", ended, array{Exclusion("c1", "E09000023")}),
              "2026-01-01T00:00:00Z");
  drive.Order("instrument.ended", "2026-04-01T09:00:00Z",
              {{"instrument_id", "BAIL/END"}, {"reason", "nfa"}});
  EXPECT_EQ(InstrumentCount(d, ended), 0u);
  EXPECT_EQ(InstrumentCount(d, ended, "2026-03-31T12:00:00Z"), 1u);
  raised = drive.Tag("tag.position", "2026-04-02T12:00:00Z", Fix(ended, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  raised = drive.Tag("tag.position", "2026-03-31T12:00:00Z", Fix(ended, kInLewisham));
  EXPECT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
}

// Spec 5.4: a tag event for a person with no instrument in force is a data gap
// for the control rooms.
TEST(Conditions, TagPositionWithNothingInForceIsAnUnmatchedTagEvent) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  const std::string s = "PNC-94/000004D";
  drive.Grant(MakeInstrument("BAIL/GONE", "police_bail", s, array{Exclusion("c1", "E09000023")},
                             "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
              "2026-01-01T00:00:00Z");
  auto raised = drive.Tag("tag.position", Now(-30), Fix(s, kInLewisham));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  EXPECT_EQ(OfKind(raised, "unmatched_tag_event").size(), 1u) << Dump(raised);
  // From the home unit too (dated well away from the fix, so not the same run of data).
  raised = drive.Tag("tag.curfew_violation", Now(-1000), HomeUnit(s, "start"));
  EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
  EXPECT_EQ(OfKind(raised, "unmatched_tag_event").size(), 1u) << Dump(raised);
}

// ---------------------------------------------------------------------------
// Bad instruments are rejected whole.

TEST(Conditions, BadInstrumentsAreRejectedWholeNamingTheField) {
  struct Case {
    std::string what;
    object bad_condition;
    std::string field;
  };
  object bad_tz = Curfew("c2", EveryDay(), "19:00", "07:00", 5, "Europe/Lundun");
  const std::vector<Case> cases = {
      {"unknown zone code", Exclusion("c2", "E09999999"), "instrument.conditions[1].zone"},
      {"self-intersecting inline polygon",
       Exclusion("c2", Polygon(array{array{-0.0200, 51.4800}, array{-0.0170, 51.4825},
                                     array{-0.0170, 51.4800}, array{-0.0200, 51.4825},
                                     array{-0.0200, 51.4800}})),
       "instrument.conditions[1].zone"},
      {"unknown time zone", bad_tz, "instrument.conditions[1].tz"},
  };
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.what);
    const std::string subject = "PNC-95/00000" + std::to_string(i) + "X";
    const std::string id = "BAD/" + std::to_string(i);
    // A good condition first, then the bad one: nothing of it may be kept.
    object ins = MakeInstrument(id, "police_bail", subject,
                                array{NotToAttend("c1", kHome, 100), c.bad_condition});
    auto reply = drive.Submit(
        {{"type", "instrument.granted"}, {"time", "2026-01-01T00:00:00Z"}, {"instrument", ins}});
    ASSERT_FALSE(reply.at("ok").as_bool()) << boost::json::serialize(reply);
    EXPECT_EQ(reply.at("error").at("code").as_string(), "bad_request");
    EXPECT_TRUE(Contains(Str(reply.at("error").at("message")), c.field))
        << boost::json::serialize(reply);
    EXPECT_EQ(InstrumentCount(d, subject), 0u);
    EXPECT_EQ(InstrumentCount(d, subject, "2026-01-02T00:00:00Z"), 0u);
    auto history = d.Call("history.person", {{"person_id", subject}});
    ASSERT_TRUE(history.at("ok").as_bool()) << boost::json::serialize(history);
    EXPECT_TRUE(history.at("history").as_array().empty()) << boost::json::serialize(history);
    // Its good condition is not enforced either.
    auto raised = drive.Check("check.person", Now(), PersonCheck(subject, kNearHome));
    EXPECT_TRUE(BreachKinds(raised).empty()) << Dump(raised);
    // Nothing was recorded under its id: a corrected grant is accepted.
    ins["conditions"] = array{NotToAttend("c1", kHome, 100)};
    reply = drive.Submit(
        {{"type", "instrument.granted"}, {"time", "2026-01-01T00:00:00Z"}, {"instrument", ins}});
    EXPECT_TRUE(reply.at("ok").as_bool()) << boost::json::serialize(reply);
    EXPECT_EQ(InstrumentCount(d, subject), 1u);
  }
  // The same on the orders feed: dead-lettered, counted, nothing kept.
  const std::string fed = "PNC-95/000009Y";
  drive.Grant(MakeInstrument("BAD/FEED", "police_bail", fed, array{Exclusion("c1", "E09999999")}),
              "2026-01-01T00:00:00Z");
  EXPECT_EQ(InstrumentCount(d, fed), 0u);
  auto status = d.Call("status");
  for (const auto& f : status.at("feeds").as_array()) {
    if (f.at("name").as_string() == "orders") {
      EXPECT_EQ(f.at("rejected").as_int64(), 1);
    }
  }
}

// ---------------------------------------------------------------------------
// Every query op against a known state.

constexpr char kQSubject[] = "PNC-96/000001A";
constexpr char kQOther[] = "PNC-96/000002B";

object QueryBail(double home_radius_m) {
  return MakeInstrument("BAIL/Q/1", "police_bail", kQSubject,
                        array{Exclusion("c1", "E09000023"), NotToAttend("c2", kHome, home_radius_m),
                              NoContact("c3", kProtected), Residence("c4"), Other("c5")},
                        "2026-02-01T09:00:00Z");
}

TEST(ConditionQueries, ConditionsPersonProtectedAndLocation) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  drive.Grant(QueryBail(100), "2026-02-01T09:00:00Z");
  drive.Grant(MakeInstrument("NMO/Q/2", "non_molestation_order", kQOther,
                             array{NotToAttend("n1", kHome, 200)}, "2026-02-01T09:00:00Z"),
              "2026-02-01T09:00:00Z");
  // Re-bailed on 10 February with a wider not-to-attend radius.
  drive.Order("instrument.varied", "2026-02-10T09:00:00Z", {{"instrument", QueryBail(150)}});
  auto raised =
      drive.Check("check.person", "2026-02-05T12:00:00Z", PersonCheck(kQSubject, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);

  // conditions.person, now and as at a time before the variation.
  auto now = ConditionsOf(d, kQSubject);
  ASSERT_EQ(now.at("instruments").as_array().size(), 1u) << boost::json::serialize(now);
  const auto& current = now.at("instruments").as_array()[0].as_object();
  EXPECT_EQ(current.at("instrument_id").as_string(), "BAIL/Q/1");
  EXPECT_EQ(ConditionIds(current), (std::set<std::string>{"c1", "c2", "c3", "c4", "c5"}));
  EXPECT_EQ(current.at("conditions").as_array()[1].at("place").at("radius_m").to_number<double>(),
            150);
  EXPECT_FALSE(now.at("in_custody").as_bool());
  EXPECT_EQ(now.at("breach_count").to_number<int64_t>(), 1);
  auto then = ConditionsOf(d, kQSubject, "2026-02-05T12:00:00Z");
  ASSERT_EQ(then.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(then.at("instruments")
                .as_array()[0]
                .at("conditions")
                .as_array()[1]
                .at("place")
                .at("radius_m")
                .to_number<double>(),
            100);
  EXPECT_EQ(then.at("at_time").as_string(), "2026-02-05T12:00:00Z");

  // conditions.protected: the protected person sees both instruments and their subjects.
  auto prot = d.Call("conditions.protected", {{"person_id", kProtected}});
  ASSERT_TRUE(prot.at("ok").as_bool()) << boost::json::serialize(prot);
  std::map<std::string, std::string> subject_of;
  for (const auto& iv : prot.at("instruments").as_array()) {
    subject_of[Str(iv.at("instrument_id"))] = Str(iv.at("subject"));
  }
  EXPECT_EQ(subject_of,
            (std::map<std::string, std::string>{{"BAIL/Q/1", kQSubject}, {"NMO/Q/2", kQOther}}));
  auto nobody = d.Call("conditions.protected", {{"person_id", kQSubject}});
  ASSERT_TRUE(nobody.at("ok").as_bool());
  EXPECT_TRUE(nobody.at("instruments").as_array().empty());

  // conditions.location by point.
  auto who_forbidden = [&](object req) {
    auto r = d.Call("conditions.location", req);
    EXPECT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
    std::set<std::string> out;
    if (!r.contains("conditions")) return out;
    for (const auto& cv : r.at("conditions").as_array()) {
      out.insert(Str(cv.at("subject")) + " " + Str(cv.at("instrument_id")) + " " +
                 Str(cv.at("condition").at("condition_id")) + " " +
                 Str(cv.at("condition").at("kind")));
    }
    return out;
  };
  EXPECT_EQ(who_forbidden({{"at", kInLewisham}}),
            std::set<std::string>{std::string(kQSubject) + " BAIL/Q/1 c1 exclusion_zone"});
  EXPECT_EQ(who_forbidden({{"at", kHome}}),
            (std::set<std::string>{std::string(kQSubject) + " BAIL/Q/1 c2 not_to_attend",
                                   std::string(kQOther) + " NMO/Q/2 n1 not_to_attend"}));
  EXPECT_TRUE(who_forbidden({{"at", kInSouthwark}}).empty());
  EXPECT_TRUE(who_forbidden({{"at", kInLewisham}, {"at_time", "2026-01-15T00:00:00Z"}}).empty())
      << "before anything was granted";
  // By area.
  EXPECT_EQ(who_forbidden({{"area", "E09000023"}}),
            std::set<std::string>{std::string(kQSubject) + " BAIL/Q/1 c1 exclusion_zone"});
  auto unknown = d.Call("conditions.location", {{"area", "E09999999"}});
  EXPECT_EQ(unknown.at("error").at("code").as_string(), "not_found")
      << boost::json::serialize(unknown);
  auto neither = d.Call("conditions.location", {});
  EXPECT_EQ(neither.at("error").at("code").as_string(), "bad_request");
}

// An exclusion from Lewisham does not forbid presence in Greenwich or
// Southwark, which only share a border with it.
TEST(ConditionQueries, LocationByAreaDoesNotListZonesThatOnlyShareItsBorder) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  drive.Grant(MakeInstrument("BAIL/AREA", "police_bail", kQSubject,
                             array{Exclusion("c1", "E09000023"), NotToAttend("c2", kHome, 100)}),
              "2026-01-01T00:00:00Z");
  auto ids = [&](const std::string& area) {
    auto r = d.Call("conditions.location", {{"area", area}});
    EXPECT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
    std::set<std::string> out;
    for (const auto& cv : r.at("conditions").as_array()) {
      out.insert(Str(cv.at("condition").at("condition_id")));
    }
    return out;
  };
  EXPECT_EQ(ids("E09000023"), std::set<std::string>{"c1"});
  EXPECT_EQ(ids("E09000011"), std::set<std::string>{"c2"}) << "the home is in Greenwich";
  EXPECT_TRUE(ids("E09000028").empty()) << "Southwark";
}

// Issue 12 (defect 2: replies bounded and paginated): alerts.open answered every open alert in one
// reply, however many (tag alarms left open by the thousand are what buried the real ones).  It is
// paged like conditions.location: `limit`, `more`, `next`.
TEST(ConditionQueries, AlertsOpenIsPagedWithACursorThatYieldsEveryOpenAlertExactlyOnce) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  drive.Grant(QueryBail(100), "2026-02-01T09:00:00Z");
  std::vector<std::string> breaches;
  for (int hour = 10; hour < 15; ++hour) {
    auto raised = drive.Check("check.person", "2026-02-05T" + std::to_string(hour) + ":00:00Z",
                              PersonCheck(kQSubject, kInLewisham));
    ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"})
        << Dump(raised);
    breaches.push_back(Str(OfKind(raised, "exclusion_zone_breach")[0].at("alert_id")));
  }
  // Without a limit: the default page (1000) holds them all, and says there is no more.
  auto all = d.Call("alerts.open", {});
  ASSERT_TRUE(all.at("ok").as_bool()) << boost::json::serialize(all);
  EXPECT_FALSE(all.at("more").as_bool());
  std::vector<std::string> every;
  for (const auto& a : all.at("alerts").as_array()) every.push_back(Str(a.at("alert_id")));
  for (const auto& id : breaches) {
    EXPECT_NE(std::find(every.begin(), every.end(), id), every.end()) << id << " not open";
  }
  std::vector<std::string> paged;
  object req{{"limit", 2}};
  size_t pages = 0;
  for (;;) {
    auto r = d.Call("alerts.open", req);
    ASSERT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
    ++pages;
    const auto& alerts = r.at("alerts").as_array();
    EXPECT_LE(alerts.size(), 2u) << "a page ends at its limit";
    for (const auto& a : alerts) paged.push_back(Str(a.at("alert_id")));
    if (!r.at("more").as_bool()) {
      EXPECT_FALSE(r.contains("next"));
      break;
    }
    ASSERT_LT(pages, 10u) << "the cursor does not advance";
    req["cursor"] = r.at("next");
  }
  EXPECT_EQ(pages, (every.size() + 1) / 2);
  EXPECT_EQ(paged, every) << "every open alert exactly once, oldest first";
  // Bad paging is a bad request naming its field.
  for (const auto& [field, value] : {std::pair<std::string, boost::json::value>{"limit", 0},
                                     {"cursor", "not-a-cursor"}}) {
    auto bad = d.Call("alerts.open", {{field, value}});
    ASSERT_FALSE(bad.at("ok").as_bool()) << boost::json::serialize(bad);
    EXPECT_EQ(Str(bad.at("error").at("code")), "bad_request");
    EXPECT_TRUE(Contains(Str(bad.at("error").at("message")), field)) << boost::json::serialize(bad);
  }
}

TEST(ConditionQueries, HistoryPersonAlertsOpenAndTheCourtDocument) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Driver drive(&d);
  drive.Grant(QueryBail(100), "2026-02-01T09:00:00Z");
  drive.Order("instrument.varied", "2026-02-10T09:00:00Z", {{"instrument", QueryBail(150)}});
  auto raised =
      drive.Check("check.person", "2026-02-05T12:00:00Z", PersonCheck(kQSubject, kInLewisham));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"exclusion_zone_breach"}) << Dump(raised);
  const std::string exclusion_id = Str(OfKind(raised, "exclusion_zone_breach")[0].at("alert_id"));
  raised = drive.Check("check.person", "2026-02-12T20:00:00Z", PersonCheck(kQSubject, kNearHome));
  ASSERT_EQ(BreachKinds(raised), std::vector<std::string>{"address_breach"}) << Dump(raised);
  const std::string address_id = Str(OfKind(raised, "address_breach")[0].at("alert_id"));

  // alerts.open: both breaches, not acknowledged; check_results (info) are not listed.
  auto open_ids = [&](object req) {
    auto r = d.Call("alerts.open", std::move(req));
    EXPECT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
    std::map<std::string, bool> out;  // alert_id -> acked
    if (!r.contains("alerts")) return out;
    for (const auto& a : r.at("alerts").as_array()) {
      out[Str(a.at("alert_id"))] = a.at("acked").as_bool();
    }
    return out;
  };
  EXPECT_EQ(open_ids({}),
            (std::map<std::string, bool>{{exclusion_id, false}, {address_id, false}}));
  auto ack = d.Call("alert.ack", {{"alert_id", exclusion_id}, {"officer_id", kOic}});
  ASSERT_TRUE(ack.at("ok").as_bool()) << boost::json::serialize(ack);
  EXPECT_EQ(open_ids({{"recipient", std::string("officer/") + kChecker + "/"}}),
            (std::map<std::string, bool>{{exclusion_id, true}, {address_id, false}}));
  EXPECT_TRUE(open_ids({{"recipient", "officer/MP-PC0000/"}}).empty());

  // Outcomes recorded.
  auto r1 = d.Call("alert.resolve",
                   {{"alert_id", exclusion_id}, {"outcome", "arrested"}, {"officer_id", kOic}});
  ASSERT_TRUE(r1.at("ok").as_bool()) << boost::json::serialize(r1);
  EXPECT_EQ(open_ids({}), (std::map<std::string, bool>{{address_id, false}}));
  auto r2 = d.Call("alert.resolve",
                   {{"alert_id", address_id}, {"outcome", "warned"}, {"officer_id", kChecker}});
  ASSERT_TRUE(r2.at("ok").as_bool()) << boost::json::serialize(r2);
  EXPECT_TRUE(open_ids({}).empty());

  // history.person: versions, breaches with their outcomes, oldest first.
  auto history = d.Call("history.person", {{"person_id", kQSubject}});
  ASSERT_TRUE(history.at("ok").as_bool()) << boost::json::serialize(history);
  std::vector<std::string> whats;
  std::string previous_time;
  for (const auto& hv : history.at("history").as_array()) {
    const auto& h = hv.as_object();
    whats.push_back(Str(h.at("what")));
    const std::string time = Str(h.at("time"));
    EXPECT_LE(*ParseRfc3339(previous_time.empty() ? time : previous_time), *ParseRfc3339(time))
        << "not oldest first: " << boost::json::serialize(history);
    previous_time = time;
    const auto& detail = h.at("detail").as_object();
    if (whats.back() == "instrument granted") {
      EXPECT_EQ(detail.at("version").to_number<int64_t>(), 1);
      EXPECT_EQ(time, "2026-02-01T09:00:00Z");
    } else if (whats.back() == "instrument varied") {
      EXPECT_EQ(detail.at("version").to_number<int64_t>(), 2);
      EXPECT_EQ(time, "2026-02-10T09:00:00Z");
    } else if (whats.back() == "alert exclusion_zone_breach") {
      EXPECT_EQ(detail.at("record").at("outcome").as_string(), "arrested");
      EXPECT_EQ(detail.at("record").at("resolved_by").as_string(), kOic);
    } else if (whats.back() == "alert address_breach") {
      EXPECT_EQ(detail.at("record").at("outcome").as_string(), "warned");
    }
  }
  EXPECT_EQ(whats, (std::vector<std::string>{"instrument granted", "alert exclusion_zone_breach",
                                             "instrument varied", "alert address_breach"}))
      << boost::json::serialize(history);

  // The court document, as HTML and Markdown.
  const std::string base = std::string(BREACHCTL_PATH) + " --control " + d.control_endpoint() +
                           " --reason 'file for the CPS' history " + kQSubject;
  for (const std::string format : {"html", "md"}) {
    SCOPED_TRACE(format);
    const std::string file = d.dir() + "/history." + format;
    ASSERT_EQ(ExitCode(base + " --format " + format + " -o " + file + " 2>/dev/null"), 0);
    const std::string doc = ReadFile(file);
    EXPECT_TRUE(Contains(doc, kQSubject)) << doc;
    EXPECT_TRUE(Contains(doc, "BAIL/Q/1 version 1")) << doc;
    EXPECT_TRUE(Contains(doc, "BAIL/Q/1 version 2")) << doc;
    EXPECT_TRUE(Contains(doc, "exclusion_zone_breach")) << doc;
    EXPECT_TRUE(Contains(doc, "address_breach")) << doc;
    EXPECT_TRUE(Contains(doc, "outcome: arrested")) << doc;
    EXPECT_TRUE(Contains(doc, "outcome: warned")) << doc;
    EXPECT_TRUE(Contains(doc, "2026-02-05T12:00:00Z")) << doc;
    EXPECT_LT(doc.find("version 1"), doc.find("exclusion_zone_breach")) << doc;
    EXPECT_LT(doc.find("exclusion_zone_breach"), doc.find("version 2")) << doc;
    if (format == "html") {
      EXPECT_TRUE(Contains(doc, "<!DOCTYPE html>")) << doc;
    } else {
      EXPECT_TRUE(Contains(doc, "# Record of")) << doc;
    }
  }
}

TEST(ConditionQueries, AlertsSincePagesAThousandAtATimeOldestFirst) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  // 1001 checks of a person with nothing in force: one check_result each.
  constexpr int kChecks = 1001;
  for (int i = 1; i <= kChecks; ++i) {
    object e = PersonCheck("PNC-97/000001A", kInGreenwich);
    e["id"] = "paging-" + std::to_string(i);
    e["source"] = "checks-paging";
    e["seq"] = i;
    e["type"] = "check.person";
    e["time"] = Now();
    d.Publish("check", boost::json::serialize(e));
  }
  ASSERT_TRUE(Eventually(
      [&] {
        return d.Call("status").at("counts").at("last_alert_seq").to_number<int64_t>() == kChecks;
      },
      milliseconds(30000)))
      << d.log().substr(0, 4000);

  auto first = d.Call("alerts.since", {{"seq", 0}});
  ASSERT_TRUE(first.at("ok").as_bool());
  const auto& page1 = first.at("alerts").as_array();
  ASSERT_EQ(page1.size(), 1000u);
  EXPECT_TRUE(first.at("more").as_bool());
  for (size_t i = 0; i < page1.size(); ++i) {
    ASSERT_EQ(page1[i].at("seq").to_number<int64_t>(), static_cast<int64_t>(i + 1));
  }
  auto second = d.Call("alerts.since", {{"seq", 1000}});
  ASSERT_EQ(second.at("alerts").as_array().size(), 1u);
  EXPECT_FALSE(second.at("more").as_bool());
  EXPECT_EQ(second.at("alerts").as_array()[0].at("seq").to_number<int64_t>(), kChecks);
  auto none = d.Call("alerts.since", {{"seq", kChecks}});
  EXPECT_TRUE(none.at("alerts").as_array().empty());
  EXPECT_FALSE(none.at("more").as_bool());
  auto tail = d.Call("alerts.since", {{"seq", kChecks - 3}});
  ASSERT_EQ(tail.at("alerts").as_array().size(), 3u);
  EXPECT_EQ(tail.at("alerts").as_array()[0].at("seq").to_number<int64_t>(), kChecks - 2);
  EXPECT_EQ(d.AlertsSince(0).size(), static_cast<size_t>(kChecks));
  // Check results are info and need no outcome: alerts.open is empty.
  auto open = d.Call("alerts.open", {});
  ASSERT_TRUE(open.at("ok").as_bool());
  EXPECT_TRUE(open.at("alerts").as_array().empty());
}

}  // namespace
}  // namespace bw::testing
