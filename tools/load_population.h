// The population and event stream that bw-load plays against breachwatchd.
//
// A Population is N persons living at ONS LSOA population-weighted centroids
// (jittered), each under 1-3 instruments whose conditions come from the real
// zone sets: borough exclusions (LAD 2022 GSS codes), LSOA-sized exclusions
// (LSOA 2021 codes), inline ~64-vertex per-person zones, not_to_attend radii,
// curfews at home and no-contact pairs.  Every zone and address is placed so
// that the person's whole walking disk (kWalkRadiusM around home) is clearly
// outside it, and each breachable condition gets a "breach point" well inside
// it and outside every other condition of that person; so the generator knows
// exactly which alert each event must raise.
//
// About 10% of persons (mixed population) have, on their first instrument, a
// DVPO `proximity` condition (protocol 9.3) protecting a person of their own
// ("LV-<i>") whose device sends `victim.position` fixes: her walking disk is
// kept more than kProximityWarningM (plus both accuracies) from his, so only a
// deliberate approach raises anything, and it raises exactly one
// proximity_breach officer copy and one control copy (protocol 9.3).
//
// EventStream draws the events (97.4% tag.position random walks, ~0.75% of
// them a deliberate breach, 2% other tag events, 0.5% check.person, 0.1%
// custody arrest+release) and, for each, the alerts breachwatchd must raise.
// Event time is a per-person clock (a fix a minute, daytime GMT on past days,
// so curfews never fire and `late` is true); a breach is reached and left with
// gaps longer than crossing_max_gap_s and exit_debounce_s, so each breach is an
// episode of its own and no zone crossing is ever implied.  A subject with a
// protected person shares his clock with her device: 30% of his events are her
// fixes, and 2% of those an approach: after a gap, her fix where she stands and
// then, as the next event, his fix at her side 30 s later (the breach; within
// proximity_max_age_s of hers, and > proximity_max_age_s from any other fix).
//
// Deterministic for a seed.  Thread-compatible: one thread per object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"
#include "handlers/geo/zone_index.h"

namespace bw::load {

// Alert kinds the load raises; kOther is anything else (feed health etc).
enum class Kind : uint8_t {
  kExclusion,
  kAddress,
  kRepeat,
  kTagBattery,
  kTagSignalLost,
  kTagTamper,
  kCheckResult,
  kSubjectArrested,
  kCustodyRelease,
  kProximityOfficer,  // proximity_breach, "copy": "officer" (OIC, safety contacts)
  kProximityControl,  // proximity_breach, "copy": "control" (control rooms)
  kOther,
  kCount
};
const char* KindName(Kind k);
Kind KindFromName(std::string_view name);
// The kind of a received alert: its `kind`, and for proximity_breach its `copy`.
Kind KindOfAlert(std::string_view kind, std::string_view copy);

constexpr double kWalkRadiusM = 600;
// The proximity condition's distances (protocol 9.3), as granted.
constexpr int kProximityRadiusM = 500;
constexpr int kProximityWarningM = 1000;

struct Condition {
  std::string json;  // the condition object
  bool breachable = false;
  Kind breach_kind = Kind::kOther;
  GeoPoint breach_point;
};

struct Person {
  GeoPoint home;
  GeoPoint pos;
  std::string owning_control;  // home borough
  int instruments = 0;
  std::vector<Condition> conditions;  // breachable ones first-class; all kept for grants
  std::vector<std::string> grants;    // instrument JSON objects (no envelope)
  std::vector<uint16_t> breachable;   // indexes into conditions
  TimePoint clock{};                  // event time of the person's last event
  int breaches = 0;                   // breach episodes so far (for repeat_breach)
  bool after_breach = false;          // the last event was a breach: next one after a gap
  // The protected person of this subject's proximity condition (at most one),
  // whose own device sends victim.position fixes on the tag feed.  She walks
  // within kWalkRadiusM of victim_home, which is so far from his walking disk
  // that no walk of either ever comes within kProximityWarningM.
  bool protects = false;
  std::string victim_id;  // "LV-<i>"
  GeoPoint victim_home;
  GeoPoint victim_pos;
};

struct LondonData {
  std::shared_ptr<const ZoneIndex> boroughs;  // LAD22, control-room map
  std::shared_ptr<const ZoneIndex> lsoas;     // LSOA21
  struct Home {
    GeoPoint at;
    std::string borough;
  };
  std::vector<Home> homes;                                  // LSOA11 population-weighted centroids
  std::vector<std::pair<GeoPoint, std::string>> lsoa_list;  // centre, LSOA21 code
  std::string borough_file, lsoa_file;
};

// Reads the zone files and centroids; errors name the file.
Result<LondonData> LoadLondon(const std::string& source_dir, const std::string& shared_data_dir);

enum class Mix {
  kMixed,    // the standard mix of conditions above
  kOneZone,  // exactly one instrument with one inline ~64-vertex zone (memory per person)
};

class Population {
 public:
  Population(const LondonData& london, int persons, Mix mix, uint64_t seed);
  size_t size() const { return persons_.size(); }
  Person& person(size_t i) { return persons_[i]; }
  int64_t instruments() const { return instruments_; }
  int64_t conditions() const { return conditions_; }
  int64_t protected_persons() const { return protected_persons_; }  // with a device sending
  static std::string PersonId(size_t i) { return "LP-" + std::to_string(i); }

 private:
  void Build(size_t i, Mix mix, std::mt19937_64& rng);
  const LondonData& london_;
  std::vector<Person> persons_;
  int64_t instruments_ = 0, conditions_ = 0, protected_persons_ = 0;
};

// One event to send: feed index (0 orders, 1 tag, 2 custody, 3 check), the
// JSON body, and the alerts it must raise.
struct Expected {
  Kind kind;
  int count;
};
struct GenEvent {
  int feed = 1;
  std::string json;
  Expected expected[3];
  int n_expected = 0;
};

class EventStream {
 public:
  EventStream(Population& pop, uint64_t seed, TimePoint day0);
  // The grants (feed orders) of the whole population, in person order.
  void Grants(const std::function<void(GenEvent&&)>& sink);
  // Next event of the mix; `id` is the global event number placed in "id".
  void Next(uint64_t id, GenEvent* out, bool position_only = false);
  // A fix that must breach (for sentinels).
  void Breach(uint64_t id, GenEvent* out);
  int64_t seq(int feed) const { return seq_[feed]; }

 private:
  void Position(uint64_t id, size_t p, bool breach, GenEvent* out);
  // A fix of p's protected person: a step of her walk, or (approach) a fix
  // where she stands after a gap, which the subject's next fix (pending) joins.
  void VictimPosition(uint64_t id, size_t p, bool approach, GenEvent* out);
  // The subject's fix at her side, 30 s after her approach fix: proximity_breach.
  void ProximityBreach(uint64_t id, GenEvent* out);
  std::string Envelope(const char* type, uint64_t id, int feed, TimePoint t);
  TimePoint Advance(Person& who, std::chrono::seconds by);
  TimePoint Step(Person& who);  // the next event time of `who`
  Population& pop_;
  std::mt19937_64 rng_;
  TimePoint day0_;
  int64_t seq_[4] = {0, 0, 0, 0};
  int64_t pending_release_ = -1;  // person arrested by the previous event
  int64_t pending_proximity_ = -1;  // subject whose protected person has just approached
};

}  // namespace bw::load
