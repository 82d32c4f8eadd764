// Instruments (bail, protective and community orders) and their conditions:
// the typed form of spec section 3, decoded from JSON with errors naming the field.
//
// An Instrument is an immutable value once decoded.  It keeps no JSON: the object
// it came from is stored with its version (the daemon's store) and read back by
// (instrument_id, version) where a reply returns the section-3 shape unchanged
// (handlers/instruments/instrument_bodies.h).  An inline zone is held once, as a
// CompactArea (int32 vertices at 1e-7 degree), beside its envelope.
// Thread-safety: plain values.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/geo/compact_area.h"
#include "handlers/geo/geometry.h"
#include "handlers/instruments/risk.h"

namespace bw {

enum class InstrumentKind {
  kPoliceBail,
  kCourtBail,
  kDvpn,
  kDvpo,
  kDapo,
  kNonMolestationOrder,
  kRestrainingOrder,
  kCommunityOrder,
  kLicence,
};
const char* InstrumentKindName(InstrumentKind kind);

enum class ConditionKind {
  kExclusionZone,
  kNotToAttend,
  kNoContact,
  kCurfew,
  kResidence,
  kOther,
  kProximity,  // keep radius_m from a protected person wherever they are (protocol 9.3)
};
const char* ConditionKindName(ConditionKind kind);

// Defaults of a proximity condition (protocol 9.3).
inline constexpr double kDefaultProximityRadiusM = 500;
inline constexpr double kDefaultProximityWarningM = 1000;

struct Place {
  std::string label;
  GeoPoint at;
  double radius_m = 0;
};

// A weekly curfew window in local wall-clock time.  `end_min` <= `start_min`
// means the window crosses midnight into the next day.
struct CurfewWindow {
  std::vector<unsigned> days;  // 0 = Sunday ... 6 = Saturday (date::weekday encoding)
  int start_min = 0;           // minutes after local midnight
  int end_min = 0;
};

// What a GPS fix needs of a condition to rule out a breach without reading the
// condition itself: the matcher's prefilter, which the instrument registry
// copies next to each person's index entry so that the usual fix, breaching
// nothing, costs no memory access per condition.  Each kind states when a fix
// certainly does not breach; otherwise the matcher decides from the condition.
struct FixPrefilter {
  enum class Kind : uint8_t {
    kNone,      // no shortcut: decide from the condition
    kNever,     // residence, no_contact, other: never judged from a fix
    kEnvelope,  // inline exclusion zone whose envelope is `box`: no breach unless the
                // fix, or the segment from the previous fix, meets the box
    kFarFrom,   // not_to_attend: no breach while the fix is certainly farther than
                // radius_m from `at` (GeodesicDistanceBounds(fix, at).lower > radius_m)
    kAtHome,    // curfew whose time zone is known: no breach while the fix is
                // certainly within radius_m of `at` (...upper <= radius_m)
    kProximity,  // proximity: never judged by the place rules of a fix; the proximity
                 // handler (rules/proximity_handler.cc) finds it by this kind
  };
  Kind kind = Kind::kNone;
  GeoBox box{GeoPoint(0, 0), GeoPoint(0, 0)};
  GeoPoint at{0, 0};
  double radius_m = 0;
};

struct Condition {
  std::string condition_id;
  ConditionKind kind = ConditionKind::kOther;
  // exclusion_zone: exactly one of zone_code / inline_zone.  An inline zone is
  // rounded to 1e-7 degree when decoded (handlers/geo/compact_area.h says why that
  // decides every fix as the polygon received), and its envelope, of the rounded
  // polygon, is prefilter.box.
  std::string zone_code;
  std::optional<CompactArea> inline_zone;
  // not_to_attend, curfew, residence.
  std::optional<Place> place;
  // no_contact, proximity: the protected person.
  std::string person;
  // proximity: the distance to keep (radius_m, default 500) and the distance under
  // which the owning control room is warned (warning_m >= radius_m, default 1000).
  double proximity_radius_m = 0;
  double proximity_warning_m = 0;
  // curfew.
  std::vector<CurfewWindow> windows;
  std::string tz;
  int64_t grace_min = 0;
  // other.
  std::string text;
  // Set by DecodeInstrument from the fields above; kNone for a condition built
  // any other way (always correct, just slower to match).
  FixPrefilter prefilter;
};

struct Instrument {
  std::string instrument_id;
  InstrumentKind kind = InstrumentKind::kPoliceBail;
  std::string subject;
  std::vector<std::string> protected_persons;
  std::string case_ref;
  std::string offence;
  std::string oic;
  std::string supervisor;
  std::string owning_control;
  std::vector<std::string> safety_contacts;
  TimePoint valid_from;
  std::optional<TimePoint> valid_until;  // nullopt = until further order
  std::vector<Condition> conditions;
  std::optional<Risk> risk;  // protocol 9.2 (handlers/instruments/risk.h)
  // Which version of instrument_id this is: 1 for the grant, then one more for each
  // variation or ending recorded after it, as the store numbers them (set by the
  // engine when it decides the change; 0 for an instrument not recorded).  With
  // instrument_id, the key of its JSON as received in the store.
  uint32_t version = 0;
  // A digest of the `conditions` array as received, equal for equal arrays
  // (objects compared whatever their key order): whether a variation kept the
  // conditions of the version before (history's same_conditions).
  uint64_t conditions_digest = 0;
};

// The digest Instrument::conditions_digest holds: FNV-1a over a canonical form of
// `v` (object members in key order, numbers by value).
uint64_t JsonDigest(const boost::json::value& v);

// Decodes the `instrument` object of an instrument.granted / instrument.varied
// event.  `path` prefixes field names in errors (e.g. "instrument").
// Zone codes are checked for form only; the engine resolves them against the
// loaded zone sets.
Result<Instrument> DecodeInstrument(const boost::json::object& o, const std::string& path);

}  // namespace bw
