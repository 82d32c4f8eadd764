// Instruments (bail, protective and community orders) and their conditions:
// the typed form of spec section 3, decoded from JSON with errors naming the field.
//
// An Instrument is an immutable value once decoded.  It keeps the JSON object it
// came from (`raw`) so replies can return the section-3 shape unchanged.
// Thread-safety: plain values.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "handlers/clock.h"
#include "handlers/geometry.h"
#include "handlers/status.h"

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

enum class ConditionKind { kExclusionZone, kNotToAttend, kNoContact, kCurfew, kResidence, kOther };
const char* ConditionKindName(ConditionKind kind);

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

struct Condition {
  std::string condition_id;
  ConditionKind kind = ConditionKind::kOther;
  // curfew: true when DecodeInstrument found `tz` in the time-zone database, so
  // window lookups cannot fail (lets the matcher skip them for a fix at home).
  // Kept next to `kind`, in the same cache line.
  bool tz_known = false;
  // exclusion_zone: exactly one of zone_code / inline_zone.
  std::string zone_code;
  std::optional<GeoMultiPolygon> inline_zone;
  // Envelope of inline_zone, set with it by DecodeInstrument: a fix outside it
  // cannot be in the zone (a prefilter; absent means "test the polygon").
  std::optional<GeoBox> inline_zone_bbox;
  // not_to_attend, curfew, residence.
  std::optional<Place> place;
  // no_contact.
  std::string person;
  // curfew.
  std::vector<CurfewWindow> windows;
  std::string tz;
  int64_t grace_min = 0;
  // other.
  std::string text;
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
  boost::json::object raw;  // the object as received
};

// Decodes the `instrument` object of an instrument.granted / instrument.varied
// event.  `path` prefixes field names in errors (e.g. "instrument").
// Zone codes are checked for form only; the engine resolves them against the
// loaded zone sets.
Result<Instrument> DecodeInstrument(const boost::json::object& o, const std::string& path);

}  // namespace bw
