// custody.arrested / custody.released through the Engine (protocol 4.2, 5.2,
// 5.3): custody intervals, arrest and release alerts, and custody inhibiting
// tag alerts.  Injected clock, no sleeps.
#include <gtest/gtest.h>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

constexpr const char* kSubject = "PNC-13/000001A";

struct InstrumentSpec {
  std::string id = "BAIL/LW/2013/0100";
  std::string oic = "MP-PC1111";
  std::string supervisor = "MP-DS2222";
  std::string owning_control = "E09000023";
  std::vector<std::string> safety_contacts = {"IDVA-LW-01"};
  std::string valid_from = "2013-06-01T10:00:00Z";
};

std::string Grant(const InstrumentSpec& s) {
  boost::json::array contacts;
  for (const auto& c : s.safety_contacts) contacts.emplace_back(c);
  boost::json::object ins{
      {"instrument_id", s.id},       {"kind", "court_bail"},
      {"subject", kSubject},         {"protected_persons", boost::json::array{"PNC-13/000002B"}},
      {"case_ref", "case-" + s.id},  {"oic", s.oic},
      {"supervisor", s.supervisor},  {"owning_control", s.owning_control},
      {"safety_contacts", contacts}, {"valid_from", s.valid_from},
      {"valid_until", nullptr},      {"conditions", boost::json::array{}}};
  boost::json::object e{{"type", "instrument.granted"},
                        {"id", "g-" + s.id},
                        {"source", "court"},
                        {"time", s.valid_from},
                        {"instrument", ins}};
  return boost::json::serialize(e);
}

int event_counter = 0;

std::string Envelope(const std::string& type, const std::string& time, boost::json::object body) {
  body["type"] = type;
  body["id"] = "ev-" + std::to_string(++event_counter);
  body["source"] = type.substr(0, type.find('.'));
  body["time"] = time;
  body["person_id"] = kSubject;
  return boost::json::serialize(body);
}

std::string Arrest(const std::string& time, const std::string& reason,
                   const std::string& instrument_id = "") {
  boost::json::object b{{"arresting_officer", "MP-PC9999"},
                        {"reason", reason},
                        {"custody_suite", "Lewisham"},
                        {"area", "E09000023"}};
  if (!instrument_id.empty()) b["instrument_id"] = instrument_id;
  return Envelope("custody.arrested", time, b);
}

std::string Release(const std::string& time, const std::string& outcome) {
  return Envelope("custody.released", time, {{"outcome", outcome}});
}

std::string Tag(const std::string& type, const std::string& time, const char* key = nullptr,
                const char* value = nullptr) {
  boost::json::object b{{"device_id", "EM-TAG-77"}};
  if (key != nullptr) b[key] = value;
  return Envelope(type, time, b);
}

class CustodyTest : public EngineFixture {
 protected:
  CustodyTest() : EngineFixture("2013-07-20T00:00:00Z") {}

  bool InCustody(const char* t) const { return engine_.state().InCustodyAt(kSubject, T(t)); }
};

bool PagesAnOfficer(const Alert& a) {
  for (const auto& r : a.recipients) {
    if (r.starts_with("officer/")) return true;
  }
  return false;
}

// The 2013 sequence: a tagged subject is arrested; for the next six days the
// monitoring provider keeps reporting the tag (strap, signal, battery, home
// unit) while they sit in a cell.  None of it may page the officer in the case.
TEST_F(CustodyTest, TagEventsWhileInCustodyGoToControlAsInfoAndNeverPageTheOic) {
  Handle(Grant({}));
  Outcome arrest = Handle(Arrest("2013-07-05T22:00:00Z", "offence"));
  ASSERT_EQ(arrest.alerts.size(), 1u);
  EXPECT_TRUE(InCustody("2013-07-06T00:00:00Z"));

  const std::vector<std::string> in_custody_events = {
      Tag("tag.strap_tamper", "2013-07-06T03:10:00Z"),
      Tag("tag.signal", "2013-07-07T11:00:00Z", "state", "lost"),
      Tag("tag.battery", "2013-07-08T09:30:00Z", "level", "dead"),
      // Remanded at court: still in custody.
      Release("2013-07-08T12:00:00Z", "remanded"),
      Tag("tag.home_unit", "2013-07-09T20:00:00Z", "state", "tamper"),
      Tag("tag.strap_tamper", "2013-07-10T04:00:00Z"),
      Tag("tag.battery", "2013-07-11T16:45:00Z", "level", "low"),
  };
  int tag_alerts = 0;
  for (const auto& text : in_custody_events) {
    Outcome out = Handle(text);
    if (text.find("custody.released") != std::string::npos) {
      ASSERT_EQ(out.alerts.size(), 1u);
      EXPECT_EQ(out.alerts[0].kind, AlertKind::kCustodyRelease);
      EXPECT_EQ(out.alerts[0].extra.at("outcome").as_string(), "remanded");
      EXPECT_TRUE(out.alerts[0].in_custody);
      continue;
    }
    ASSERT_EQ(out.alerts.size(), 1u) << text;
    const Alert& a = out.alerts[0];
    EXPECT_EQ(a.severity, Severity::kInfo) << a.kind;
    EXPECT_TRUE(a.in_custody) << a.kind;
    EXPECT_FALSE(PagesAnOfficer(a)) << a.kind;
    EXPECT_EQ(a.recipients, std::vector<std::string>{"control/E09000023/"}) << a.kind;
    ++tag_alerts;
  }
  EXPECT_EQ(tag_alerts, 6);
  EXPECT_TRUE(InCustody("2013-07-11T23:59:59Z"));

  // A real release ends custody; the tag pages the OIC again.
  Handle(Release("2013-07-12T10:00:00Z", "court_bailed"));
  EXPECT_FALSE(InCustody("2013-07-12T10:00:00Z"));
  Outcome after = Handle(Tag("tag.strap_tamper", "2013-07-12T11:00:00Z"));
  ASSERT_EQ(after.alerts.size(), 1u);
  EXPECT_EQ(after.alerts[0].kind, AlertKind::kTagTamper);
  EXPECT_EQ(after.alerts[0].severity, Severity::kCritical);
  EXPECT_FALSE(after.alerts[0].in_custody);
  EXPECT_EQ(after.alerts[0].recipients,
            (std::vector<std::string>{"officer/MP-PC1111/", "control/E09000023/"}));

  // Judged at event time: a late report dated inside custody is still inhibited.
  Outcome late = Handle(Tag("tag.signal", "2013-07-09T01:00:00Z", "state", "lost"));
  ASSERT_EQ(late.alerts.size(), 1u);
  EXPECT_EQ(late.alerts[0].severity, Severity::kInfo);
  EXPECT_TRUE(late.alerts[0].in_custody);
}

TEST_F(CustodyTest, ArrestWithoutInstrumentIdReachesEveryOicAndSupervisor) {
  Handle(Grant({}));
  Handle(Grant({.id = "DVPO/LW/2013/0007",
                .oic = "MP-PC3333",
                .supervisor = "MP-DS4444",
                .owning_control = "E09000011",
                .safety_contacts = {}}));
  Outcome out = Handle(Arrest("2013-07-05T22:00:00Z", "offence"));
  ASSERT_EQ(out.alerts.size(), 2u);
  std::map<std::string, std::vector<std::string>> by_instrument;
  for (const auto& a : out.alerts) {
    EXPECT_EQ(a.kind, AlertKind::kSubjectArrested);
    EXPECT_EQ(a.severity, Severity::kMedium);
    EXPECT_EQ(a.person_id, kSubject);
    EXPECT_EQ(a.extra.at("arresting_officer").as_string(), "MP-PC9999");
    EXPECT_EQ(a.extra.at("custody_suite").as_string(), "Lewisham");
    // The arrest is a line of the history (protocol 9.1), counted as no breach.
    ASSERT_EQ(a.extra.at("history").as_array().size(), 1u);
    EXPECT_EQ(a.extra.at("history").as_array()[0].at("kind").as_string(), "subject_arrested");
    EXPECT_EQ(a.extra.at("breach_count").as_int64(), 0);
    by_instrument[a.instrument_id] = a.recipients;
  }
  EXPECT_EQ(by_instrument["BAIL/LW/2013/0100"],
            (std::vector<std::string>{"officer/MP-PC1111/", "officer/MP-DS2222/"}));
  EXPECT_EQ(by_instrument["DVPO/LW/2013/0007"],
            (std::vector<std::string>{"officer/MP-PC3333/", "officer/MP-DS4444/"}));
  // An offence arrest is not a breach.
  EXPECT_EQ(engine_.state().breaches.count(kSubject), 0u);
}

TEST_F(CustodyTest, BreachArrestNamingOneInstrumentStillReachesAllAndCountsOnce) {
  Handle(Grant({}));
  Handle(Grant({.id = "DVPO/LW/2013/0007", .oic = "MP-PC3333", .supervisor = "MP-PC3333"}));
  Outcome out = Handle(Arrest("2013-07-05T22:00:00Z", "breach", "BAIL/LW/2013/0100"));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[0].kind, AlertKind::kBreachArrest);
  EXPECT_EQ(out.alerts[0].severity, Severity::kHigh);
  EXPECT_EQ(out.alerts[0].instrument_id, "BAIL/LW/2013/0100");
  EXPECT_EQ(out.alerts[1].kind, AlertKind::kBreachArrest);
  EXPECT_EQ(out.alerts[1].instrument_id, "DVPO/LW/2013/0007");
  // OIC and supervisor the same officer: one recipient, not two.
  EXPECT_EQ(out.alerts[1].recipients, std::vector<std::string>{"officer/MP-PC3333/"});
  // The arrest is in the history it reports, once.
  const auto& history = out.alerts[0].extra.at("history").as_array();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].at("kind").as_string(), "breach_arrest");
  EXPECT_EQ(history[0].at("instrument_id").as_string(), "BAIL/LW/2013/0100");
  EXPECT_EQ(out.alerts[0].extra.at("breach_count").as_int64(), 1);
  ASSERT_EQ(engine_.state().breaches.at(kSubject).size(), 1u);

  // Released, then arrested again for breach: the history grows (arrest, release, arrest).
  Handle(Release("2013-07-06T10:00:00Z", "rebailed"));
  Outcome again = Handle(Arrest("2013-07-07T22:00:00Z", "breach", "NO/SUCH/ORDER"));
  ASSERT_EQ(again.alerts.size(), 2u);
  EXPECT_EQ(again.alerts[0].extra.at("history").as_array().size(), 3u);
  EXPECT_EQ(again.alerts[0].extra.at("breach_count").as_int64(), 2);
  EXPECT_NE(again.alerts[0].summary.find("not in force"), std::string::npos);
}

TEST_F(CustodyTest, ReleaseReachesOicAndSafetyContactsWithOutcomeAndInstruments) {
  Handle(Grant({.safety_contacts = {"IDVA-LW-01", "MARAC-LW"}}));
  Handle(Grant({.id = "DVPO/LW/2013/0007", .oic = "MP-PC3333", .safety_contacts = {}}));
  Handle(Arrest("2013-07-05T22:00:00Z", "offence"));
  Outcome out = Handle(Release("2013-07-06T15:00:00Z", "charged_bailed"));
  ASSERT_EQ(out.alerts.size(), 2u);
  const Alert& bail = out.alerts[0];
  EXPECT_EQ(bail.kind, AlertKind::kCustodyRelease);
  EXPECT_EQ(bail.severity, Severity::kMedium);
  EXPECT_FALSE(bail.in_custody);
  EXPECT_EQ(bail.instrument_id, "BAIL/LW/2013/0100");
  EXPECT_EQ(bail.recipients, (std::vector<std::string>{"officer/MP-PC1111/", "officer/IDVA-LW-01/",
                                                       "officer/MARAC-LW/"}));
  EXPECT_EQ(bail.extra.at("outcome").as_string(), "charged_bailed");
  // Both instruments in force, by version: the daemon puts their JSON in.
  ASSERT_EQ(bail.embed_instruments.size(), 2u);
  EXPECT_EQ(bail.embed_instruments[1].instrument_id, "DVPO/LW/2013/0007");
  EXPECT_EQ(bail.embed_instruments[1].version, 1u);
  EXPECT_EQ(out.alerts[1].recipients, std::vector<std::string>{"officer/MP-PC3333/"});
  EXPECT_FALSE(InCustody("2013-07-06T15:00:00Z"));
  EXPECT_TRUE(InCustody("2013-07-06T14:59:59Z"));
}

TEST_F(CustodyTest, PersonWithoutInstrumentIsStoredAndNotedWithoutAlert) {
  Outcome arrest = Handle(Arrest("2013-07-05T22:00:00Z", "breach"));
  EXPECT_TRUE(arrest.alerts.empty());
  EXPECT_NE(arrest.note.find("no instrument in force"), std::string::npos) << arrest.note;
  EXPECT_TRUE(InCustody("2013-07-06T00:00:00Z"));
  EXPECT_EQ(engine_.state().breaches.count(kSubject), 0u);
  Outcome release = Handle(Release("2013-07-06T10:00:00Z", "nfa"));
  EXPECT_TRUE(release.alerts.empty());
  EXPECT_FALSE(InCustody("2013-07-06T10:00:00Z"));
}

TEST_F(CustodyTest, ArrestBeforeTheInstrumentIsInForceDoesNotAlert) {
  Handle(Grant({.valid_from = "2013-07-01T00:00:00Z"}));
  EXPECT_TRUE(Handle(Arrest("2013-06-30T23:00:00Z", "breach")).alerts.empty());
}

TEST_F(CustodyTest, LateEventsInsertCustodyIntervalsInOrder) {
  Handle(Arrest("2013-07-10T00:00:00Z", "offence"));
  Handle(Release("2013-07-11T00:00:00Z", "nfa"));
  // Arrested earlier, reported late: custody assumed until the next arrest...
  Handle(Arrest("2013-07-05T00:00:00Z", "offence"));
  const auto& v = engine_.state().custody.at(kSubject);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].from, T("2013-07-05T00:00:00Z"));
  EXPECT_EQ(v[1].from, T("2013-07-10T00:00:00Z"));
  EXPECT_TRUE(InCustody("2013-07-08T00:00:00Z"));
  // ...until its own release arrives, also late.
  Handle(Release("2013-07-06T00:00:00Z", "released_under_investigation"));
  EXPECT_TRUE(InCustody("2013-07-05T23:59:59Z"));
  EXPECT_FALSE(InCustody("2013-07-08T00:00:00Z"));
  EXPECT_TRUE(InCustody("2013-07-10T12:00:00Z"));
  EXPECT_FALSE(InCustody("2013-07-11T00:00:00Z"));
  // An arrest while already in custody opens nothing new.
  Handle(Arrest("2013-07-10T06:00:00Z", "offence"));
  EXPECT_EQ(engine_.state().custody.at(kSubject).size(), 2u);
}

TEST_F(CustodyTest, DecideLeavesCustodyStateUnchangedUntilApply) {
  DecodeOptions o;
  o.now = clock_.Now();
  o.require_seq = false;
  auto e = DecodeEvent(Arrest("2013-07-05T22:00:00Z", "offence"), o);
  ASSERT_TRUE(e.ok());
  auto out = engine_.Decide(*e);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(InCustody("2013-07-06T00:00:00Z"));
  engine_.Apply(*out);
  EXPECT_TRUE(InCustody("2013-07-06T00:00:00Z"));
}

}  // namespace
}  // namespace bw
