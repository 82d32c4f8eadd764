#include "tools/load_population.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "handlers/base/time_util.h"

namespace bw::load {
namespace {

constexpr double kPi = 3.14159265358979323846;
// Every zone edge and address radius keeps at least this far from the walking disk.
constexpr double kClearM = 300;
constexpr auto kFixInterval = std::chrono::seconds(60);
// Longer than crossing_max_gap_s (600) and exit_debounce_s (300).
constexpr auto kBreachGap = std::chrono::seconds(660);
const char* const kSources[4] = {"orders-load", "em-load", "custody-load", "check-load"};
const char* const kKindNames[] = {"exclusion_zone_breach", "address_breach",   "repeat_breach",
                                  "tag_battery",           "tag_signal_lost",  "tag_tamper",
                                  "check_result",          "subject_arrested", "custody_release",
                                  "proximity_breach/officer", "proximity_breach/control", "other"};
// Share of persons (mixed population) whose first instrument protects a person with a device.
constexpr double kProximityShare = 0.10;
// Share of a protected person's fixes that approach the subject (a proximity breach).
constexpr double kApproachShare = 0.02;
// Share of a subject's events that are his protected person's fixes.
constexpr double kVictimFixShare = 0.30;

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
size_t Index(std::mt19937_64& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}
GeoPoint Offset(const GeoPoint& p, double east_m, double north_m) {
  return GeoPoint(p.x() + east_m / (111320.0 * std::cos(p.y() * kPi / 180.0)),
                  p.y() + north_m / 110574.0);
}
GeoPoint Around(std::mt19937_64& rng, const GeoPoint& p, double min_m, double max_m) {
  const double bearing = Uniform(rng, 0, 2 * kPi);
  const double d = Uniform(rng, min_m, max_m);
  return Offset(p, d * std::cos(bearing), d * std::sin(bearing));
}
// Planar metres between nearby points (London scale; ample for placement margins).
double Metres(const GeoPoint& a, const GeoPoint& b) {
  const double dx = (a.x() - b.x()) * 111320.0 * std::cos(a.y() * kPi / 180.0);
  const double dy = (a.y() - b.y()) * 110574.0;
  return std::sqrt(dx * dx + dy * dy);
}
void AppendNum(std::string* s, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.7f", v);
  s->append(buf, static_cast<size_t>(n));
}
void AppendPoint(std::string* s, const GeoPoint& p) {
  s->push_back('[');
  AppendNum(s, p.x());
  s->push_back(',');
  AppendNum(s, p.y());
  s->push_back(']');
}
Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::BadInput(path, "cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What a condition occupies, for the "breach point touches no other condition" test.
struct Footprint {
  enum { kZone, kDisk, kNone } kind = kNone;
  const GeoMultiPolygon* zone = nullptr;
  GeoPoint centre;
  double radius_m = 0;
  bool Touches(const GeoPoint& p, double margin_m) const {
    switch (kind) {
      case kZone:
        return Covers(*zone, p) || DistanceToBoundaryMeters(*zone, p) < margin_m;
      case kDisk:
        return Metres(centre, p) <= radius_m + margin_m;
      case kNone:
        return false;
    }
    return false;
  }
};

}  // namespace

const char* KindName(Kind k) { return kKindNames[static_cast<int>(k)]; }
Kind KindFromName(std::string_view name) {
  for (int i = 0; i < static_cast<int>(Kind::kOther); ++i) {
    if (name == kKindNames[i]) return static_cast<Kind>(i);
  }
  return Kind::kOther;
}

Kind KindOfAlert(std::string_view kind, std::string_view copy) {
  if (kind == "proximity_breach") {
    if (copy == "officer") return Kind::kProximityOfficer;
    if (copy == "control") return Kind::kProximityControl;
    return Kind::kOther;
  }
  return KindFromName(kind);
}

Result<LondonData> LoadLondon(const std::string& source_dir, const std::string& shared_dir) {
  LondonData l;
  l.borough_file = source_dir + "/config/zones/london_lad22_bgc_wgs84.geojson";
  l.lsoa_file = shared_dir + "/london_lsoa21_bgc_wgs84.geojson";
  auto bt = ReadFile(l.borough_file);
  if (!bt.ok()) return bt.status();
  auto lt = ReadFile(l.lsoa_file);
  if (!lt.ok()) return lt.status();
  auto b = ZoneIndex::Build({ZoneSetSource{"boroughs", std::move(*bt), "LAD22CD", "LAD22NM", false}});
  if (!b.ok()) return b.status();
  l.boroughs = *b;
  auto z = ZoneIndex::Build({ZoneSetSource{"lsoa", std::move(*lt), "LSOA21CD", "LSOA21NM", false}});
  if (!z.ok()) return z.status();
  l.lsoas = *z;
  for (const auto& zone : l.lsoas->zones()) {
    GeoPoint c((zone.bbox.min_corner().x() + zone.bbox.max_corner().x()) / 2,
               (zone.bbox.min_corner().y() + zone.bbox.max_corner().y()) / 2);
    l.lsoa_list.emplace_back(c, zone.code);
  }
  const std::string csv_path = shared_dir + "/london_lsoa11_pwc_groundtruth.csv";
  auto csv = ReadFile(csv_path);
  if (!csv.ok()) return csv.status();
  std::istringstream in(*csv);
  std::string line;
  std::getline(in, line);  // area_code,area_name,lon,lat,borough_gss,borough_name
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
    if (f.size() < 5) continue;
    l.homes.push_back({GeoPoint(std::stod(f[2]), std::stod(f[3])), f[4]});
  }
  if (l.homes.empty()) return Status::BadInput(csv_path, "no centroids");
  return l;
}

Population::Population(const LondonData& london, int persons, Mix mix, uint64_t seed)
    : london_(london) {
  persons_.resize(static_cast<size_t>(persons));
  for (size_t i = 0; i < persons_.size(); ++i) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + i);
    Build(i, mix, rng);
  }
}

void Population::Build(size_t i, Mix mix, std::mt19937_64& rng) {
  Person& p = persons_[i];
  const auto& h = london_.homes[Index(rng, london_.homes.size())];
  // Jitter, but stay in the home borough (the owning control room).
  const Zone* home_borough = london_.boroughs->Find(h.borough);
  p.home = h.at;
  for (int t = 0; t < 10; ++t) {
    GeoPoint j = Around(rng, h.at, 0, 200);
    if (home_borough == nullptr || Covers(home_borough->geometry, j)) {
      p.home = j;
      break;
    }
  }
  p.pos = p.home;
  p.owning_control = h.borough;
  const std::string pid = PersonId(i);
  std::vector<Footprint> feet;
  size_t victim_foot = SIZE_MAX;  // feet index of the proximity condition's

  int n_ins = 1;
  if (mix == Mix::kMixed) {
    double r = Uniform(rng, 0, 1);
    n_ins = r < 0.6 ? 1 : r < 0.9 ? 2 : 3;
  }
  static const char* const kInstrumentKinds[] = {"police_bail", "court_bail", "community_order",
                                                 "licence", "dvpo"};
  for (int k = 0; k < n_ins; ++k) {
    const int n_cond = mix == Mix::kMixed && Uniform(rng, 0, 1) < 0.3 ? 2 : 1;
    std::string conds;
    std::string protected_persons;
    for (int c = 0; c < n_cond; ++c) {
      Condition cond;
      Footprint foot;
      const std::string cid = "c" + std::to_string(c + 1);
      std::string& j = cond.json;
      j = R"({"condition_id":")" + cid + R"(",)";
      double kind_r = mix == Mix::kOneZone ? 0.5 : Uniform(rng, 0, 100);
      // 25 borough, 20 LSOA, 25 inline, 15 not_to_attend, 10 curfew, 5 no_contact
      bool placed = false;
      if (kind_r < 25) {
        std::vector<std::pair<double, const Zone*>> near;
        for (const auto& z : london_.boroughs->zones()) {
          if (z.code == h.borough || Covers(z.geometry, p.home)) continue;
          near.emplace_back(DistanceToBoundaryMeters(z.geometry, p.home), &z);
        }
        std::sort(near.begin(), near.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<const Zone*> ok;
        for (const auto& [d, z] : near) {
          if (d > kWalkRadiusM + kClearM) ok.push_back(z);
          if (ok.size() == 6) break;
        }
        if (!ok.empty()) {
          const Zone* z = ok[Index(rng, ok.size())];
          j += R"("kind":"exclusion_zone","zone":")" + z->code + "\"}";
          foot.kind = Footprint::kZone;
          foot.zone = &z->geometry;
          // A breach point deep inside: a population centroid of that borough.
          for (int t = 0; t < 60 && !cond.breachable; ++t) {
            const auto& cand = london_.homes[Index(rng, london_.homes.size())];
            if (cand.borough != z->code) continue;
            if (DistanceToBoundaryMeters(z->geometry, cand.at) >= 150 &&
                Covers(z->geometry, cand.at)) {
              cond.breachable = true;
              cond.breach_point = cand.at;
            }
          }
          cond.breach_kind = Kind::kExclusion;
          placed = true;
        }
      } else if (kind_r < 45) {
        for (int t = 0; t < 400 && !placed; ++t) {
          const auto& [centre, code] = london_.lsoa_list[Index(rng, london_.lsoa_list.size())];
          const double d = Metres(centre, p.home);
          if (d < 1500 || d > 8000) continue;
          const Zone* z = london_.lsoas->Find(code);
          if (Covers(z->geometry, p.home) ||
              DistanceToBoundaryMeters(z->geometry, p.home) <= kWalkRadiusM + kClearM) {
            continue;
          }
          j += R"("kind":"exclusion_zone","zone":")" + code + "\"}";
          foot.kind = Footprint::kZone;
          foot.zone = &z->geometry;
          for (int u = 0; u < 200 && !cond.breachable; ++u) {
            GeoPoint q(Uniform(rng, z->bbox.min_corner().x(), z->bbox.max_corner().x()),
                       Uniform(rng, z->bbox.min_corner().y(), z->bbox.max_corner().y()));
            if (Covers(z->geometry, q) && DistanceToBoundaryMeters(z->geometry, q) >= 20) {
              cond.breachable = true;
              cond.breach_point = q;
            }
          }
          cond.breach_kind = Kind::kExclusion;
          placed = true;
        }
      } else if (kind_r < 70) {
        // Inline irregular circle of 64 vertices, radius r, all of it clear of the walk.
        const double r = Uniform(rng, 300, 1500);
        const GeoPoint centre =
            Around(rng, p.home, kWalkRadiusM + kClearM + r, kWalkRadiusM + kClearM + r + 3000);
        j += R"("kind":"exclusion_zone","zone":{"type":"Polygon","coordinates":[[)";
        GeoPoint first;
        for (int v = 0; v < 64; ++v) {
          const double a = 2 * kPi * v / 64;
          const double rv = r * Uniform(rng, 0.8, 1.0);
          GeoPoint q = Offset(centre, rv * std::cos(a), rv * std::sin(a));
          if (v == 0) first = q;
          AppendPoint(&j, q);
          j += ',';
        }
        AppendPoint(&j, first);
        j += "]]}}";
        foot.kind = Footprint::kDisk;
        foot.centre = centre;
        foot.radius_m = r;
        cond.breachable = true;
        cond.breach_point = centre;  // >= 0.8 r * cos(pi/64) inside
        cond.breach_kind = Kind::kExclusion;
        placed = true;
      } else if (kind_r < 85) {
        const double radius = std::round(Uniform(rng, 100, 500));
        const GeoPoint at = Around(rng, p.home, kWalkRadiusM + kClearM + radius,
                                   kWalkRadiusM + kClearM + radius + 4000);
        j += R"("kind":"not_to_attend","place":{"label":"protected address","at":)";
        AppendPoint(&j, at);
        j += R"(,"radius_m":)" + std::to_string(static_cast<int>(radius)) + "}}";
        foot.kind = Footprint::kDisk;
        foot.centre = at;
        foot.radius_m = radius;
        cond.breachable = true;
        cond.breach_point = at;
        cond.breach_kind = Kind::kAddress;
        placed = true;
      } else if (kind_r < 95) {
        static const char* const kWindows[] = {
            R"([{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"19:00","end":"07:00"}])",
            R"([{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"21:00","end":"06:00"}])",
            R"([{"days":["mon","tue","wed","thu","fri"],"start":"20:00","end":"07:00"},{"days":["sat","sun"],"start":"18:00","end":"08:00"}])"};
        j += R"("kind":"curfew","place":{"label":"bail address","at":)";
        AppendPoint(&j, p.home);
        j += R"(,"radius_m":)" + std::to_string(static_cast<int>(Uniform(rng, 50, 150))) +
             R"(},"windows":)" + kWindows[Index(rng, 3)] + R"(,"tz":"Europe/London","grace_min":5})";
        placed = true;
      } else {
        size_t other = Index(rng, std::max<size_t>(persons_.size(), 2));
        if (other == i) other = (i + 1) % std::max<size_t>(persons_.size(), 2);
        const std::string o = PersonId(other);
        j += R"("kind":"no_contact","person":")" + o + "\"}";
        protected_persons += (protected_persons.empty() ? "\"" : ",\"") + o + "\"";
        placed = true;
      }
      if (!placed) {  // no suitable zone near: an address instead
        j = R"({"condition_id":")" + cid + R"(","kind":"other","text":"report daily"})";
      }
      if (!conds.empty()) conds += ',';
      conds += j;
      feet.push_back(foot);
      p.conditions.push_back(std::move(cond));
      ++conditions_;
    }
    if (k == 0 && mix == Mix::kMixed && Uniform(rng, 0, 1) < kProximityShare) {
      // Her walking disk and his are kProximityWarningM + kClearM apart at the least.
      p.protects = true;
      p.victim_id = "LV-" + std::to_string(i);
      p.victim_home = Around(rng, p.home, 2 * kWalkRadiusM + kProximityWarningM + kClearM,
                             2 * kWalkRadiusM + kProximityWarningM + kClearM + 3000);
      p.victim_pos = p.victim_home;
      Condition cond;
      cond.json = R"({"condition_id":"c)" + std::to_string(n_cond + 1) +
                  R"(","kind":"proximity","person":")" + p.victim_id + R"(","radius_m":)" +
                  std::to_string(kProximityRadiusM) + R"(,"warning_m":)" +
                  std::to_string(kProximityWarningM) + "}";
      // No other breach point comes within the warning distance of her walk.
      Footprint foot;
      foot.kind = Footprint::kDisk;
      foot.centre = p.victim_home;
      foot.radius_m = kWalkRadiusM + kProximityWarningM + 100;
      conds += ',' + cond.json;
      protected_persons += (protected_persons.empty() ? "\"" : ",\"") + p.victim_id + "\"";
      victim_foot = feet.size();
      feet.push_back(foot);
      p.conditions.push_back(std::move(cond));
      ++conditions_;
    }
    const std::string iid = "LI-" + std::to_string(i) + "-" + std::to_string(k);
    std::string g = R"({"instrument_id":")" + iid + R"(","kind":")" +
                    (protected_persons.empty() ? kInstrumentKinds[Index(rng, 4)] : "dvpo") +
                    R"(","subject":")" + pid + R"(","protected_persons":[)" + protected_persons +
                    R"(],"case_ref":"LC/)" + std::to_string(i) + "/" + std::to_string(k) +
                    R"(","offence":"assault","oic":"OIC-)" + std::to_string(i % 4000) +
                    R"(","supervisor":"SUP-)" + std::to_string(i % 400) +
                    R"(","owning_control":")" + h.borough + R"(","safety_contacts":["IDVA-)" +
                    std::to_string(i % 100) +
                    R"("],"valid_from":"2026-11-01T00:00:00Z","valid_until":null,"conditions":[)" +
                    conds + "]}";
    p.grants.push_back(std::move(g));
    ++instruments_;
  }
  p.instruments = n_ins;
  // A breach point must breach its own condition only.
  for (size_t c = 0; c < p.conditions.size(); ++c) {
    Condition& cond = p.conditions[c];
    if (!cond.breachable) continue;
    for (size_t o = 0; o < feet.size(); ++o) {
      if (o != c && feet[o].Touches(cond.breach_point, 50)) cond.breachable = false;
    }
    if (cond.breachable) p.breachable.push_back(static_cast<uint16_t>(c));
  }
  // The subject at her side must breach nothing but the proximity condition:
  // where no other condition keeps clear of her walking disk, her device stays
  // silent (the condition is still granted; it just never sees her fixes).
  if (p.protects) {
    for (size_t o = 0; o < feet.size(); ++o) {
      if (o != victim_foot && feet[o].Touches(p.victim_home, kWalkRadiusM + 50)) {
        p.protects = false;
      }
    }
    if (p.protects) ++protected_persons_;
  }
}

EventStream::EventStream(Population& pop, uint64_t seed, TimePoint day0)
    : pop_(pop), rng_(seed), day0_(day0) {
  for (size_t i = 0; i < pop_.size(); ++i) {
    pop_.person(i).clock =
        day0_ + std::chrono::hours(8) + std::chrono::seconds(Index(rng_, 3600));
  }
}

TimePoint EventStream::Advance(Person& who, std::chrono::seconds by) {
  who.clock += by;
  // Daytime GMT only (curfews start at 18:00 at the earliest, end by 08:00).
  const auto day = std::chrono::floor<std::chrono::days>(who.clock);
  const auto tod = who.clock - day;
  if (tod >= std::chrono::hours(17)) {
    who.clock = day + std::chrono::days(1) + std::chrono::hours(9) + (tod - std::chrono::hours(17));
  } else if (tod < std::chrono::hours(9)) {
    who.clock = day + std::chrono::hours(9) + tod;
  }
  return who.clock;
}

TimePoint EventStream::Step(Person& who) {
  const bool gap = who.after_breach;
  who.after_breach = false;
  return Advance(who, gap ? kBreachGap : kFixInterval);
}

std::string EventStream::Envelope(const char* type, uint64_t id, int feed, TimePoint t) {
  std::string s;
  s.reserve(256);
  s += R"({"type":")";
  s += type;
  s += R"(","id":"e)";
  s += std::to_string(id);
  s += R"(","source":")";
  s += kSources[feed];
  s += R"(","seq":)";
  s += std::to_string(++seq_[feed]);
  s += R"(,"time":")";
  s += FormatRfc3339(t);
  s += '"';
  return s;
}

void EventStream::Grants(const std::function<void(GenEvent&&)>& sink) {
  const TimePoint granted = *ParseRfc3339("2026-11-01T00:00:00Z");
  uint64_t n = 0;
  for (size_t i = 0; i < pop_.size(); ++i) {
    for (const auto& g : pop_.person(i).grants) {
      GenEvent e;
      e.feed = 0;
      e.json = Envelope("instrument.granted", ++n, 0, granted);
      e.json.replace(e.json.find("\"e"), 2, "\"g");  // grant ids: g<n>
      e.json += R"(,"instrument":)" + g + "}";
      sink(std::move(e));
    }
  }
}

void EventStream::Position(uint64_t id, size_t p, bool breach, GenEvent* out) {
  Person& who = pop_.person(p);
  GeoPoint at;
  TimePoint t;
  if (breach) {
    const Condition& c = who.conditions[who.breachable[Index(rng_, who.breachable.size())]];
    at = c.breach_point;
    t = Advance(who, kBreachGap);
    who.after_breach = true;
    ++who.breaches;
    out->expected[0] = {c.breach_kind, 1};
    out->n_expected = 1;
    if (who.breaches % 3 == 0) out->expected[out->n_expected++] = {Kind::kRepeat, 1};
  } else {
    t = Step(who);
    std::normal_distribution<double> step(0, 40);
    GeoPoint next = Offset(who.pos, step(rng_), step(rng_));
    const double d = Metres(next, who.home);
    if (d > kWalkRadiusM) {  // back towards home
      const double f = 0.8 * kWalkRadiusM / d;
      next = GeoPoint(who.home.x() + (next.x() - who.home.x()) * f,
                      who.home.y() + (next.y() - who.home.y()) * f);
    }
    who.pos = next;
    at = next;
  }
  out->feed = 1;
  out->json = Envelope("tag.position", id, 1, t);
  out->json += R"(,"person_id":"LP-)";
  out->json += std::to_string(p);
  out->json += R"(","device_id":"LD-)";
  out->json += std::to_string(p);
  out->json += R"(","at":)";
  AppendPoint(&out->json, at);
  out->json += R"(,"accuracy_m":8})";
}

void EventStream::VictimPosition(uint64_t id, size_t p, bool approach, GenEvent* out) {
  Person& who = pop_.person(p);
  TimePoint t;
  if (approach) {
    // Apart in time from every fix of either of them: only his next fix (at her side) is near.
    t = Advance(who, kBreachGap);
    pending_proximity_ = static_cast<int64_t>(p);
  } else {
    t = Step(who);
    std::normal_distribution<double> step(0, 40);
    GeoPoint next = Offset(who.victim_pos, step(rng_), step(rng_));
    const double d = Metres(next, who.victim_home);
    if (d > kWalkRadiusM) {
      const double f = 0.8 * kWalkRadiusM / d;
      next = GeoPoint(who.victim_home.x() + (next.x() - who.victim_home.x()) * f,
                      who.victim_home.y() + (next.y() - who.victim_home.y()) * f);
    }
    who.victim_pos = next;
  }
  out->feed = 1;
  out->json = Envelope("victim.position", id, 1, t);
  out->json += R"(,"person_id":")" + who.victim_id + R"(","device_id":"LVD-)" +
               std::to_string(p) + R"(","at":)";
  AppendPoint(&out->json, who.victim_pos);
  out->json += R"(,"accuracy_m":8})";
}

void EventStream::ProximityBreach(uint64_t id, GenEvent* out) {
  const size_t p = static_cast<size_t>(pending_proximity_);
  pending_proximity_ = -1;
  Person& who = pop_.person(p);
  who.clock += std::chrono::seconds(30);
  who.after_breach = true;  // every later fix of either is > proximity_max_age_s away
  ++who.breaches;
  out->feed = 1;
  out->json = Envelope("tag.position", id, 1, who.clock);
  out->json += R"(,"person_id":"LP-)" + std::to_string(p) + R"(","device_id":"LD-)" +
               std::to_string(p) + R"(","at":)";
  AppendPoint(&out->json, who.victim_pos);
  out->json += R"(,"accuracy_m":8})";
  out->expected[0] = {Kind::kProximityOfficer, 1};
  out->expected[1] = {Kind::kProximityControl, 1};
  out->n_expected = 2;
  if (who.breaches % 3 == 0) out->expected[out->n_expected++] = {Kind::kRepeat, 1};
}

void EventStream::Breach(uint64_t id, GenEvent* out) {
  if (pending_proximity_ >= 0) {  // the approach's breach is the sentinel
    *out = GenEvent{};
    ProximityBreach(id, out);
    return;
  }
  size_t p;
  do {
    p = Index(rng_, pop_.size());
  } while (pop_.person(p).breachable.empty());
  *out = GenEvent{};
  Position(id, p, true, out);
}

void EventStream::Next(uint64_t id, GenEvent* out, bool position_only) {
  *out = GenEvent{};
  if (pending_release_ >= 0 && !position_only) {
    Person& who = pop_.person(static_cast<size_t>(pending_release_));
    out->feed = 2;
    out->json = Envelope("custody.released", id, 2, who.clock + std::chrono::seconds(30));
    out->json += R"(,"person_id":"LP-)" + std::to_string(pending_release_) +
                 R"(","outcome":"nfa"})";
    out->expected[0] = {Kind::kCustodyRelease, who.instruments};
    out->n_expected = 1;
    who.clock += std::chrono::seconds(30);
    pending_release_ = -1;
    return;
  }
  if (pending_proximity_ >= 0) {
    ProximityBreach(id, out);
    return;
  }
  const size_t p = Index(rng_, pop_.size());
  Person& who = pop_.person(p);
  const double r = position_only ? 1.0 : Uniform(rng_, 0, 1);
  const std::string pid = "LP-" + std::to_string(p);
  if (r < 0.0005) {
    const TimePoint t = Step(who);
    out->feed = 2;
    out->json = Envelope("custody.arrested", id, 2, t);
    out->json += R"(,"person_id":")" + pid +
                 R"(","arresting_officer":"MP-PC9","reason":"offence","custody_suite":"Lewisham"})";
    out->expected[0] = {Kind::kSubjectArrested, who.instruments};
    out->n_expected = 1;
    pending_release_ = static_cast<int64_t>(p);
    return;
  }
  if (r < 0.0055) {
    const TimePoint t = Step(who);
    out->feed = 3;
    out->json = Envelope("check.person", id, 3, t);
    out->json += R"(,"person_id":")" + pid + R"(","officer_id":"MP-PC)" +
                 std::to_string(p % 977) + R"(","at":)";
    AppendPoint(&out->json, who.pos);
    out->json += R"(,"reason":"stop check"})";
    out->expected[0] = {Kind::kCheckResult, 1};
    out->n_expected = 1;
    return;
  }
  if (r < 0.0255) {
    const TimePoint t = Step(who);
    const double d = Uniform(rng_, 0, 1);
    out->feed = 1;
    std::string tail = R"(,"person_id":")" + pid + R"(","device_id":"LD-)" + std::to_string(p);
    if (d < 0.4) {
      out->json = Envelope("tag.battery", id, 1, t) + tail + R"(","level":"low"})";
      out->expected[0] = {Kind::kTagBattery, who.instruments};
      out->n_expected = 1;
    } else if (d < 0.6) {
      out->json = Envelope("tag.signal", id, 1, t) + tail + R"(","state":"lost"})";
      out->expected[0] = {Kind::kTagSignalLost, who.instruments};
      out->n_expected = 1;
    } else if (d < 0.85) {
      out->json = Envelope("tag.signal", id, 1, t) + tail + R"(","state":"restored"})";
    } else {
      out->json = Envelope("tag.strap_tamper", id, 1, t) + tail + "\"}";
      out->expected[0] = {Kind::kTagTamper, who.instruments};
      out->n_expected = 1;
    }
    return;
  }
  if (who.protects && Uniform(rng_, 0, 1) < kVictimFixShare) {
    // Never while he is in custody (a release held back by a positions-only phase): a breach
    // dated in custody pages nobody (control copy only, info).
    const bool approach = Uniform(rng_, 0, 1) < kApproachShare &&
                          pending_release_ != static_cast<int64_t>(p);
    VictimPosition(id, p, approach, out);
    return;
  }
  const bool breach = !who.breachable.empty() && Uniform(rng_, 0, 1) < 0.0075;
  Position(id, p, breach, out);
}

}  // namespace bw::load
