// Matcher benchmarks: the cost of Engine::Decide per tag.position fix (and per
// check.person) over a population of 100,000 persons, each holding 1-3
// conditions.  Events are decoded before timing, so the figures are the
// matcher's; DecodeEvent is measured on its own (BM_DecodeTagPosition).
//
// Populations (built once per process from a fixed seed, so every run matches
// the same events against the same state):
//   inline   each person has 1-3 exclusion zones drawn as inline ~64-vertex
//            polygons (irregular circles of radius 300 m - 2 km) centred 0.5-4 km
//            beyond the zone edge from their home.
//   borough  each person is excluded from 1-3 boroughs (GSS codes of
//            config/zones/london_lad22_bgc_wgs84.geojson) among the six nearest
//            to their home borough.
//   mixed    1-3 conditions each, drawn from inline zones, borough exclusions,
//            not_to_attend radii (100-500 m) and curfews (50-150 m of home,
//            19:00-07:00 / 21:00-06:00 / weekday-weekend windows); a person with
//            three conditions holds two instruments.
// Homes are ONS LSOA population-weighted centroids (shared/data) jittered by up
// to 200 m, so people live where Londoners live.
//
// Every person whose fix is timed has a previous fix at home 60 s earlier, so
// the zone-crossing test runs as it does in production.  Compliant fixes are
// sampled around home (40% within 40 m, else 0.2-5 km away) and rejected if the
// engine finds a breach; in the mixed population ~0.75% of fixes are built to
// breach one of the person's conditions.  The measured share of breaching
// events is reported as the breach_pct counter.
//
// At setup each population prints a digest of every outcome (notes, alerts)
// its events produce: an optimisation of the matcher must leave it unchanged.
// scripts/run-benchmarks.sh builds and runs this and writes docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/instruments/instrument_bodies.h"

namespace bw {
namespace {

constexpr uint64_t kSeed = 20240611;
constexpr int kPersons = 100000;
constexpr size_t kEvents = size_t{1} << 16;  // distinct persons timed per benchmark
constexpr size_t kBreachingEvents = 4096;
constexpr double kBreachRate = 0.0075;  // mixed population: share of fixes built to breach
constexpr double kPi = 3.14159265358979323846;

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }
TimePoint GrantTime() { return At("2024-02-01T09:00:00Z"); }
TimePoint WeekStart() { return At("2024-03-04T00:00:00Z"); }  // Monday, GMT
TimePoint Now() { return WeekStart() + std::chrono::days(8); }

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
size_t Index(std::mt19937_64& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

// `p` moved `east_m` metres east and `north_m` metres north (local approximation).
GeoPoint Offset(const GeoPoint& p, double east_m, double north_m) {
  return GeoPoint(p.x() + east_m / (111320.0 * std::cos(p.y() * kPi / 180.0)),
                  p.y() + north_m / 110574.0);
}
GeoPoint Around(std::mt19937_64& rng, const GeoPoint& p, double min_m, double max_m) {
  const double bearing = Uniform(rng, 0, 2 * kPi);
  const double d = Uniform(rng, min_m, max_m);
  return Offset(p, d * std::cos(bearing), d * std::sin(bearing));
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7f", v);
  return buf;
}
std::string PointJson(const GeoPoint& p) { return "[" + Num(p.x()) + "," + Num(p.y()) + "]"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The borough zones and where Londoners live.
struct London {
  std::shared_ptr<const ZoneIndex> zones;
  std::vector<GeoPoint> centroids;                          // LSOA population-weighted
  std::map<std::string, std::vector<GeoPoint>> by_borough;  // centroids by borough code
  std::map<std::string, std::vector<std::string>> nearby;   // six nearest other boroughs
};

const London& LondonData() {
  static const London* london = [] {
    auto* l = new London;
    ZoneSetSource src;
    src.name = "london_lad22_bgc_wgs84.geojson";
    src.geojson_text = ReadFile(std::string(BREACHWATCH_SOURCE_DIR) +
                                "/config/zones/london_lad22_bgc_wgs84.geojson");
    src.code_property = "LAD22CD";
    src.name_property = "LAD22NM";
    auto built = ZoneIndex::Build({src});
    if (!built.ok()) {
      std::cerr << built.status().ToString() << "\n";
      std::exit(1);
    }
    l->zones = *built;
    std::istringstream csv(
        ReadFile(std::string(BREACHWATCH_SHARED_DATA_DIR) + "/london_lsoa11_pwc_groundtruth.csv"));
    std::string line;
    std::getline(csv, line);  // header: area_code,area_name,lon,lat,borough_gss,borough_name
    while (std::getline(csv, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
      if (f.size() < 5) continue;
      const GeoPoint p(std::stod(f[2]), std::stod(f[3]));
      l->centroids.push_back(p);
      l->by_borough[f[4]].push_back(p);
    }
    std::map<std::string, GeoPoint> centre;
    for (const auto& [code, points] : l->by_borough) {
      double x = 0, y = 0;
      for (const auto& p : points) x += p.x(), y += p.y();
      centre[code] = GeoPoint(x / points.size(), y / points.size());
    }
    for (const auto& [code, c] : centre) {
      std::vector<std::pair<double, std::string>> d;
      for (const auto& [other, o] : centre) {
        if (other == code) continue;
        const double dx = (o.x() - c.x()) * std::cos(c.y() * kPi / 180.0), dy = o.y() - c.y();
        d.emplace_back(dx * dx + dy * dy, other);
      }
      std::sort(d.begin(), d.end());
      for (size_t i = 0; i < 6 && i < d.size(); ++i) l->nearby[code].push_back(d[i].second);
    }
    return l;
  }();
  return *london;
}

enum class Kind { kInlineZone, kBorough, kNotToAttend, kCurfew };
enum class Mix { kInline, kBorough, kMixed };

// What the generator knows about a condition, to build breaching fixes.
struct Cond {
  Kind kind;
  GeoPoint centre;  // zone centre, place
  double radius_m = 0;
  std::string borough;
};

struct Person {
  std::string id;
  GeoPoint home;
  std::string home_borough;
  std::vector<Cond> conds;
};

struct Population {
  ManualClock clock{Now()};
  std::unique_ptr<Engine> engine;
  std::vector<Person> persons;
  size_t conditions = 0;
  size_t instruments = 0;
  std::vector<Event> fixes;            // kEvents, distinct persons
  double fix_breach_pct = 0;           // share of `fixes` that raise an alert
  std::vector<Event> breaching_fixes;  // mixed only: every one breaches
  std::vector<Event> checks;           // mixed only: check.person at the fixes' places
  double check_breach_pct = 0;
  double build_s = 0;
  // Each instrument version's JSON as received, as the daemon's store keeps it: what the
  // daemon puts into a check_result (FillInstrumentBodies), so that the outcome digest covers
  // the same alert as before the engine stopped keeping it.
  std::map<std::pair<std::string, uint32_t>, std::string> bodies;
};

Event MustDecode(const std::string& text) {
  DecodeOptions o;
  o.now = Now();
  o.require_seq = false;
  auto e = DecodeEvent(text, o);
  if (!e.ok()) {
    std::cerr << "benchmark event does not decode: " << e.status().ToString() << "\n"
              << text.substr(0, 400) << "\n";
    std::exit(1);
  }
  return std::move(*e);
}

Outcome MustDecide(const Engine& engine, const Event& e) {
  auto out = engine.Decide(e);
  if (!out.ok()) {
    std::cerr << "Decide failed: " << out.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(*out);
}

// An irregular ~64-vertex polygon (a wobbly circle of radius ~r around `c`),
// counter-clockwise and closed, as GeoJSON.  Star-shaped, so always simple.
std::string PolygonJson(std::mt19937_64& rng, const GeoPoint& c, double r) {
  const double p1 = Uniform(rng, 0, 2 * kPi), p2 = Uniform(rng, 0, 2 * kPi);
  std::string first, s = R"({"type":"Polygon","coordinates":[[)";
  constexpr int kVertices = 64;
  for (int k = 0; k < kVertices; ++k) {
    const double t = 2 * kPi * k / kVertices;
    const double rk = r * (1 + 0.12 * std::sin(3 * t + p1) + 0.06 * std::sin(5 * t + p2) +
                           Uniform(rng, -0.03, 0.03));
    const std::string v = PointJson(Offset(c, rk * std::cos(t), rk * std::sin(t)));
    if (k == 0) first = v;
    s += v + ",";
  }
  return s + first + "]]}";
}

const char* kWindows[] = {
    R"([{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"19:00","end":"07:00"}])",
    R"([{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"21:00","end":"06:00"}])",
    R"([{"days":["mon","tue","wed","thu","fri"],"start":"20:00","end":"07:00"},
        {"days":["sat","sun"],"start":"22:00","end":"08:00"}])",
};

// One condition of `kind` for `p`, as JSON; records it in p->conds.
std::string ConditionJson(std::mt19937_64& rng, Person* p, Kind kind, int n,
                          std::vector<std::string>* used_boroughs) {
  const London& london = LondonData();
  const std::string id = R"({"condition_id":"c)" + std::to_string(n) + R"(",)";
  Cond c{kind, p->home, 0, ""};
  std::string json;
  switch (kind) {
    case Kind::kInlineZone: {
      c.radius_m = Uniform(rng, 300, 2000);
      // The polygon reaches at most 1.21 r from its centre: home stays >= 500 m outside.
      c.centre = Around(rng, p->home, 1.25 * c.radius_m + 500, 1.25 * c.radius_m + 4000);
      json =
          id + R"("kind":"exclusion_zone","zone":)" + PolygonJson(rng, c.centre, c.radius_m) + "}";
      break;
    }
    case Kind::kBorough: {
      const auto& near = london.nearby.at(p->home_borough);
      do {
        c.borough = near[Index(rng, near.size())];
      } while (std::find(used_boroughs->begin(), used_boroughs->end(), c.borough) !=
               used_boroughs->end());
      used_boroughs->push_back(c.borough);
      json = id + R"("kind":"exclusion_zone","zone":")" + c.borough + R"("})";
      break;
    }
    case Kind::kNotToAttend: {
      c.radius_m = std::round(Uniform(rng, 100, 500));
      c.centre = Around(rng, p->home, c.radius_m + 1000, c.radius_m + 5000);
      json = id + R"("kind":"not_to_attend","place":{"label":"protected address","at":)" +
             PointJson(c.centre) + R"(,"radius_m":)" + Num(c.radius_m) + "}}";
      break;
    }
    case Kind::kCurfew: {
      c.radius_m = std::round(Uniform(rng, 50, 150));
      json = id + R"("kind":"curfew","place":{"label":"bail address","at":)" + PointJson(p->home) +
             R"(,"radius_m":)" + Num(c.radius_m) + R"(},"windows":)" + kWindows[Index(rng, 3)] +
             R"(,"tz":"Europe/London","grace_min":15})";
      break;
    }
  }
  p->conds.push_back(std::move(c));
  return json;
}

std::string GrantJson(const std::string& instrument_id, const char* kind, const Person& p,
                      int officer, const std::vector<std::string>& conditions) {
  std::string conds;
  for (const auto& c : conditions) conds += (conds.empty() ? "" : ",") + c;
  char oic[16], sup[16];
  std::snprintf(oic, sizeof(oic), "MP-PC%04d", officer % 10000);
  std::snprintf(sup, sizeof(sup), "MP-DS%04d", officer % 500);
  const std::string t = FormatRfc3339(GrantTime());
  return R"({"type":"instrument.granted","id":"grant-)" + instrument_id +
         R"(","source":"orders","time":")" + t + R"(","instrument":{"instrument_id":")" +
         instrument_id + R"(","kind":")" + kind + R"(","subject":")" + p.id +
         R"(","protected_persons":[],"case_ref":"01MP/)" +
         instrument_id.substr(instrument_id.size() - 6) + R"(/24","oic":")" + oic +
         R"(","supervisor":")" + sup + R"(","owning_control":")" + p.home_borough +
         R"(","valid_from":")" + t + R"(","valid_until":null,"conditions":[)" + conds + "]}}";
}

std::string FixJson(const Person& p, TimePoint t, const GeoPoint& at, double accuracy_m, int seq) {
  return R"({"type":"tag.position","id":"pos-)" + std::to_string(seq) +
         R"(","source":"em-provider","seq":)" + std::to_string(seq) + R"(,"time":")" +
         FormatRfc3339(t) + R"(","person_id":")" + p.id + R"(","device_id":"TAG-)" +
         p.id.substr(p.id.size() - 7) + R"(","at":)" + PointJson(at) + R"(,"accuracy_m":)" +
         Num(accuracy_m) + "}";
}

std::string CheckJson(const Person& p, TimePoint t, const GeoPoint& at, int seq) {
  return R"({"type":"check.person","id":"chk-)" + std::to_string(seq) +
         R"(","source":"checks","seq":)" + std::to_string(seq) + R"(,"time":")" + FormatRfc3339(t) +
         R"(","person_id":")" + p.id + R"(","officer_id":"MP-PC)" +
         std::to_string(1000 + seq % 9000) + R"(","reason":"stop and account","at":)" +
         PointJson(at) + "}";
}

// A place and time at which `p` breaches `c`; `t` may be moved into curfew.
GeoPoint BreachingPlace(std::mt19937_64& rng, const Person& p, const Cond& c, TimePoint* t) {
  switch (c.kind) {
    case Kind::kInlineZone:
      return Around(rng, c.centre, 0, 0.5 * c.radius_m);
    case Kind::kBorough: {
      const auto& points = LondonData().by_borough.at(c.borough);
      return points[Index(rng, points.size())];
    }
    case Kind::kNotToAttend:
      return Around(rng, c.centre, 0, 0.5 * c.radius_m);
    case Kind::kCurfew:
      // 23:30Z on the fix's day is inside every window variant, past grace.
      *t = std::chrono::floor<std::chrono::days>(*t) + std::chrono::hours(23) +
           std::chrono::minutes(30);
      return Around(rng, p.home, 1000, 3000);
  }
  return p.home;
}

// FNV-1a over everything Decide produced for `events` (notes, alerts with
// their recipients and extras, mutation counts): printed at setup so that an
// optimisation can be checked to change no outcome.
uint64_t OutcomeDigest(const Engine& engine, const std::vector<Event>& events,
                       const std::map<std::pair<std::string, uint32_t>, std::string>& bodies) {
  const InstrumentBodyLookup lookup =
      [&bodies](const std::string& id, uint32_t version) -> Result<std::optional<std::string>> {
    auto it = bodies.find({id, version});
    if (it == bodies.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  };
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const Event& e : events) {
    const Outcome out = MustDecide(engine, e);
    mix(out.note);
    // A new last position used to be a mutation; counted the same way so that
    // digests from before and after that change compare.
    mix(std::to_string(out.mutations.size() + (out.last_fix ? 1 : 0)));
    for (Alert a : out.alerts) {
      if (!FillInstrumentBodies(lookup, &a).ok()) std::abort();
      mix(AlertKindName(a.kind));
      mix(SeverityName(a.severity));
      mix(a.summary);
      mix(a.condition_id);
      mix(a.instrument_id);
      for (const auto& r : a.recipients) mix(r);
      for (const auto& area : a.location_areas) mix(area);
      mix(boost::json::serialize(a.extra));
    }
  }
  return h;
}

std::unique_ptr<Population> Build(Mix mix) {
  const auto started = std::chrono::steady_clock::now();
  const London& london = LondonData();
  std::mt19937_64 rng(kSeed + static_cast<uint64_t>(mix));
  auto pop = std::make_unique<Population>();
  pop->engine = std::make_unique<Engine>(pop->clock, london.zones, Policy{});
  Engine& engine = *pop->engine;

  pop->persons.resize(kPersons);
  for (int i = 0; i < kPersons; ++i) {
    Person& p = pop->persons[i];
    char id[24];
    std::snprintf(id, sizeof(id), "PNC-%02d/%06d%c", 10 + i % 15, i, 'A' + i % 26);
    p.id = id;
    do {
      p.home = Around(rng, london.centroids[Index(rng, london.centroids.size())], 0, 200);
      auto in = london.zones->ZonesContaining(p.home);
      p.home_borough = in.empty() ? "" : in.front()->code;
    } while (p.home_borough.empty());

    const int n = 1 + static_cast<int>(Index(rng, 3));
    std::vector<std::string> conds, used_boroughs;
    bool curfew = false;
    for (int k = 0; k < n; ++k) {
      Kind kind = Kind::kInlineZone;
      if (mix == Mix::kBorough) kind = Kind::kBorough;
      if (mix == Mix::kMixed) {
        const double u = Uniform(rng, 0, 1);
        kind = u < 0.30   ? Kind::kInlineZone
               : u < 0.55 ? Kind::kBorough
               : u < 0.75 ? Kind::kNotToAttend
                          : Kind::kCurfew;
        if (kind == Kind::kCurfew && curfew) kind = Kind::kNotToAttend;
        curfew = curfew || kind == Kind::kCurfew;
      }
      conds.push_back(ConditionJson(rng, &p, kind, k + 1, &used_boroughs));
    }
    pop->conditions += conds.size();
    std::vector<std::pair<std::string, std::vector<std::string>>> instruments;
    char iid[32];
    std::snprintf(iid, sizeof(iid), "BAIL/MP/2024/%06d", i);
    if (conds.size() == 3) {
      instruments.emplace_back(iid, std::vector<std::string>(conds.begin(), conds.begin() + 2));
      std::snprintf(iid, sizeof(iid), "RO/MP/2024/%06d", i);
      instruments.emplace_back(iid, std::vector<std::string>{conds[2]});
    } else {
      instruments.emplace_back(iid, conds);
    }
    for (size_t k = 0; k < instruments.size(); ++k) {
      const auto& [instrument_id, ins_conds] = instruments[k];
      Event grant = MustDecode(
          GrantJson(instrument_id, k == 0 ? "court_bail" : "restraining_order", p, i, ins_conds));
      Outcome granted = MustDecide(engine, grant);
      for (const auto& c : granted.changes) {
        if (c.instrument) pop->bodies[{c.instrument_id, c.instrument->version}] = c.instrument_raw;
      }
      engine.Apply(granted);
      ++pop->instruments;
    }
  }

  // kEvents distinct persons, each with a previous fix at home 60 s before theirs.
  std::vector<size_t> order(kPersons);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const auto week_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::days(7)).count();
  struct Planned {
    const Person* person;
    TimePoint time;
    bool breach;
    GeoPoint at;
  };
  std::vector<Planned> plan;
  for (size_t j = 0; j < kEvents; ++j) {
    const Person& p = pop->persons[order[j]];
    TimePoint t = WeekStart() + std::chrono::seconds(60 + Index(rng, week_s - 120));
    const bool breach = mix == Mix::kMixed && Uniform(rng, 0, 1) < kBreachRate;
    GeoPoint at = p.home;
    if (breach) at = BreachingPlace(rng, p, p.conds[Index(rng, p.conds.size())], &t);
    plan.push_back({&p, t, breach, at});
  }
  // The previous fixes are recorded in an order unrelated to the events' (in
  // production the state's memory layout does not follow the feed either).
  size_t breaching = 0, seq = 0;
  std::vector<size_t> apply_order(kEvents);
  std::iota(apply_order.begin(), apply_order.end(), 0);
  std::shuffle(apply_order.begin(), apply_order.end(), rng);
  for (size_t j : apply_order) {
    const Person& p = *plan[j].person;
    Outcome prev = MustDecide(
        engine, MustDecode(FixJson(p, plan[j].time - std::chrono::seconds(60), p.home, 8, ++seq)));
    if (!prev.alerts.empty()) {
      std::cerr << "a fix at home breaches: " << prev.alerts.front().summary << "\n";
      std::exit(1);
    }
    engine.Apply(prev);
  }
  for (size_t j = 0; j < kEvents; ++j) {
    const Person& p = *plan[j].person;
    const TimePoint t = plan[j].time;
    const bool breach = plan[j].breach;
    GeoPoint at = plan[j].at;
    const double accuracy = std::round(Uniform(rng, 5, 25));
    Event fix;
    if (breach) {
      fix = MustDecode(FixJson(p, t, at, accuracy, ++seq));
    } else {
      // Around home; resampled while the engine finds a breach.
      fix = MustDecode(FixJson(p, t, p.home, accuracy, ++seq));
      for (int attempt = 0; attempt < 50; ++attempt) {
        const GeoPoint candidate =
            Uniform(rng, 0, 1) < 0.4 ? Around(rng, p.home, 0, 40) : Around(rng, p.home, 200, 5000);
        Event e = MustDecode(FixJson(p, t, candidate, accuracy, seq));
        if (MustDecide(engine, e).alerts.empty()) {
          fix = std::move(e);
          at = candidate;
          break;
        }
      }
    }
    if (!MustDecide(engine, fix).alerts.empty()) ++breaching;
    pop->fixes.push_back(std::move(fix));
    if (mix == Mix::kMixed) {
      pop->checks.push_back(MustDecode(CheckJson(p, t, at, static_cast<int>(j) + 1)));
    }
  }
  pop->fix_breach_pct = 100.0 * breaching / kEvents;

  if (mix == Mix::kMixed) {
    size_t check_breaching = 0;
    for (const Event& e : pop->checks) {
      if (MustDecide(engine, e).alerts.size() > 1) ++check_breaching;  // + check_result
    }
    pop->check_breach_pct = 100.0 * check_breaching / pop->checks.size();
    // Persons who already have a previous fix, each breaching one of their conditions.
    for (size_t j = 0; pop->breaching_fixes.size() < kBreachingEvents && j < kEvents; ++j) {
      const Person& p = pop->persons[order[j]];
      TimePoint t = pop->fixes[j].time;
      const GeoPoint at = BreachingPlace(rng, p, p.conds[Index(rng, p.conds.size())], &t);
      if (t - std::chrono::seconds(60) != pop->fixes[j].time - std::chrono::seconds(60)) {
        continue;  // moved into curfew: the previous fix would be too old for a crossing
      }
      Event e = MustDecode(FixJson(p, t, at, 10, static_cast<int>(++seq)));
      if (!MustDecide(engine, e).alerts.empty()) pop->breaching_fixes.push_back(std::move(e));
    }
  }
  pop->build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  static const char* kNames[] = {"inline", "borough", "mixed"};
  std::fprintf(stderr,
               "population %s: %zu persons, %zu instruments, %zu conditions, built in %.1f s; "
               "outcome digest fixes %016llx breaching %016llx checks %016llx\n",
               kNames[static_cast<int>(mix)], pop->persons.size(), pop->instruments,
               pop->conditions, pop->build_s,
               static_cast<unsigned long long>(OutcomeDigest(engine, pop->fixes, pop->bodies)),
               static_cast<unsigned long long>(
                   OutcomeDigest(engine, pop->breaching_fixes, pop->bodies)),
               static_cast<unsigned long long>(OutcomeDigest(engine, pop->checks, pop->bodies)));
  return pop;
}

const Population& Get(Mix mix) {
  static std::unique_ptr<Population> pops[3];
  auto& pop = pops[static_cast<int>(mix)];
  if (!pop) pop = Build(mix);
  return *pop;
}

void SetCounters(benchmark::State& state, const Population& pop, double breach_pct) {
  state.SetItemsProcessed(state.iterations());
  state.counters["persons"] = static_cast<double>(pop.persons.size());
  state.counters["conds_per_person"] = static_cast<double>(pop.conditions) / pop.persons.size();
  state.counters["breach_pct"] = breach_pct;
  state.counters["setup_s"] = pop.build_s;
}

// Cycles through the first state.range(0) events (each of a different person).
void RunDecide(benchmark::State& state, const Population& pop, const std::vector<Event>& events) {
  const Engine& engine = *pop.engine;
  const size_t n = std::min(events.size(), static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    auto out = engine.Decide(events[i]);
    benchmark::DoNotOptimize(out);
    if (++i == n) i = 0;
  }
}

// (a) fixes against per-person inline ~64-vertex exclusion zones.
void BM_FixInlineZones(benchmark::State& state) {
  const Population& pop = Get(Mix::kInline);
  RunDecide(state, pop, pop.fixes);
  SetCounters(state, pop, pop.fix_breach_pct);
}

// (b) fixes against borough exclusions (GSS codes).
void BM_FixBoroughZones(benchmark::State& state) {
  const Population& pop = Get(Mix::kBorough);
  RunDecide(state, pop, pop.fixes);
  SetCounters(state, pop, pop.fix_breach_pct);
}

// (c) fixes against a mixed population, ~0.75% of fixes breaching.
void BM_FixMixed(benchmark::State& state) {
  const Population& pop = Get(Mix::kMixed);
  RunDecide(state, pop, pop.fixes);
  SetCounters(state, pop, pop.fix_breach_pct);
}

// (c') only breaching fixes of the mixed population: the cost of building alerts.
void BM_FixMixedBreachingOnly(benchmark::State& state) {
  const Population& pop = Get(Mix::kMixed);
  RunDecide(state, pop, pop.breaching_fixes);
  SetCounters(state, pop, 100.0);
}

// (d) check.person at the places of the mixed fixes.
void BM_CheckPersonMixed(benchmark::State& state) {
  const Population& pop = Get(Mix::kMixed);
  RunDecide(state, pop, pop.checks);
  SetCounters(state, pop, pop.check_breach_pct);
}

// DecodeEvent on typical tag.position messages (no engine).
void BM_DecodeTagPosition(benchmark::State& state) {
  std::mt19937_64 rng(kSeed);
  std::vector<std::string> texts;
  for (int i = 0; i < 1024; ++i) {
    Person p;
    char id[24];
    std::snprintf(id, sizeof(id), "PNC-%02d/%06d%c", 10 + i % 15, i, 'A' + i % 26);
    p.id = id;
    const GeoPoint at(Uniform(rng, -0.5, 0.3), Uniform(rng, 51.3, 51.7));
    texts.push_back(FixJson(p, WeekStart() + std::chrono::seconds(i * 37), at,
                            std::round(Uniform(rng, 5, 25)), i + 1));
  }
  DecodeOptions o;
  o.now = Now();
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& text = texts[i++ & 1023];
    auto e = DecodeEvent(text, o);
    benchmark::DoNotOptimize(e);
    bytes += text.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK(BM_DecodeTagPosition);
// distinct: how many different persons' events are cycled through.  65,536
// (the default, and production-like) do not fit in the CPU caches; 256 do, which
// shows the cost without cache misses.
BENCHMARK(BM_FixInlineZones)->ArgName("distinct")->Arg(kEvents)->Arg(256);
BENCHMARK(BM_FixBoroughZones)->ArgName("distinct")->Arg(kEvents)->Arg(256);
BENCHMARK(BM_FixMixed)->ArgName("distinct")->Arg(kEvents)->Arg(256);
BENCHMARK(BM_FixMixedBreachingOnly)->ArgName("distinct")->Arg(kBreachingEvents);
BENCHMARK(BM_CheckPersonMixed)->ArgName("distinct")->Arg(kEvents);

// (e) Protocol 9.3: the proximity condition.  `pairs` subjects each under a DVPO with a
// proximity condition protecting a person of their own, her device fixed 2-3 km away at most 60 s
// before; timed: a fix of a subject (tag.position: the position rules, then the proximity rule)
// and a fix of a protected person's device (victim.position), each against the other's latest
// fix.  The cost per fix must not grow with `pairs` (the number of protected persons): compare
// rows with the same `distinct` (how many different persons' fixes are cycled through, i.e. the
// same cache behaviour) and different `pairs`.
struct ProximityPopulation {
  ManualClock clock{Now()};
  std::unique_ptr<Engine> engine;
  std::vector<Event> subject_fixes;
  std::vector<Event> victim_fixes;
};

const ProximityPopulation& GetProximity(int pairs) {
  static std::map<int, std::unique_ptr<ProximityPopulation>> pops;
  auto& pop = pops[pairs];
  if (pop) return *pop;
  pop = std::make_unique<ProximityPopulation>();
  pop->engine = std::make_unique<Engine>(pop->clock, LondonData().zones, Policy{});
  Engine& engine = *pop->engine;
  std::mt19937_64 rng(kSeed + static_cast<uint64_t>(pairs));
  const TimePoint t = Now() - std::chrono::minutes(10);
  auto fix = [](const char* type, const std::string& person, TimePoint at_time, const GeoPoint& at,
                int seq) {
    std::ostringstream o;
    o.precision(10);
    o << R"({"type":")" << type << R"(","id":"p-)" << seq << R"(","source":"bench","time":")"
      << FormatRfc3339(at_time) << R"(","person_id":")" << person << R"(","device_id":"D","at":[)"
      << at.x() << "," << at.y() << R"(],"accuracy_m":10})";
    return MustDecode(o.str());
  };
  int seq = 0;
  for (int i = 0; i < pairs; ++i) {
    const std::string subject = "S-" + std::to_string(i), victim = "V-" + std::to_string(i);
    const GeoPoint home(Uniform(rng, -0.4, 0.2), Uniform(rng, 51.35, 51.65));
    std::ostringstream g;
    g << R"({"type":"instrument.granted","id":"g-)" << i << R"(","source":"bench","time":")"
      << FormatRfc3339(GrantTime()) << R"(","instrument":{"instrument_id":"DVPO-)" << i
      << R"(","kind":"dvpo","subject":")" << subject << R"(","protected_persons":[")" << victim
      << R"("],"oic":"MP-PC1","owning_control":"E09000023","valid_from":")"
      << FormatRfc3339(GrantTime())
      << R"(","valid_until":null,"conditions":[{"condition_id":"c7","kind":"proximity","person":")"
      << victim << R"(","radius_m":500,"warning_m":1000}]}})";
    engine.Apply(MustDecide(engine, MustDecode(g.str())));
    const GeoPoint away = Around(rng, home, 2000, 3000);
    engine.Apply(MustDecide(engine, fix("victim.position", victim, t - std::chrono::seconds(60),
                                        home, ++seq)));
    engine.Apply(MustDecide(engine, fix("tag.position", subject, t - std::chrono::seconds(60),
                                        away, ++seq)));
    if (pop->subject_fixes.size() < kEvents) {
      pop->subject_fixes.push_back(fix("tag.position", subject, t, away, ++seq));
      pop->victim_fixes.push_back(fix("victim.position", victim, t, home, ++seq));
    }
  }
  std::shuffle(pop->subject_fixes.begin(), pop->subject_fixes.end(), rng);
  std::shuffle(pop->victim_fixes.begin(), pop->victim_fixes.end(), rng);
  return *pop;
}

void BM_ProximitySubjectFix(benchmark::State& state) {
  const ProximityPopulation& pop = GetProximity(static_cast<int>(state.range(0)));
  const size_t n = std::min(pop.subject_fixes.size(), static_cast<size_t>(state.range(1)));
  size_t i = 0;
  for (auto _ : state) {
    auto out = pop.engine->Decide(pop.subject_fixes[i]);
    benchmark::DoNotOptimize(out);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["protected_persons"] = static_cast<double>(state.range(0));
}

void BM_ProximityVictimFix(benchmark::State& state) {
  const ProximityPopulation& pop = GetProximity(static_cast<int>(state.range(0)));
  const size_t n = std::min(pop.victim_fixes.size(), static_cast<size_t>(state.range(1)));
  size_t i = 0;
  for (auto _ : state) {
    auto out = pop.engine->Decide(pop.victim_fixes[i]);
    benchmark::DoNotOptimize(out);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["protected_persons"] = static_cast<double>(state.range(0));
}

// {pairs, distinct}: the same 1,000 distinct persons among 1,000 or 100,000 pairs, then 65,536
// distinct among 100,000 (production-like, out of the CPU caches).
BENCHMARK(BM_ProximitySubjectFix)
    ->ArgNames({"pairs", "distinct"})
    ->Args({1000, 1000})
    ->Args({100000, 1000})
    ->Args({100000, static_cast<int64_t>(kEvents)});
BENCHMARK(BM_ProximityVictimFix)
    ->ArgNames({"pairs", "distinct"})
    ->Args({1000, 1000})
    ->Args({100000, 1000})
    ->Args({100000, static_cast<int64_t>(kEvents)});

}  // namespace
}  // namespace bw

BENCHMARK_MAIN();
