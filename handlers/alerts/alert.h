// Alerts (spec section 6): what the engine decides to tell whom.
//
// The engine produces Alert values with everything but `alert_id`, `seq` and
// `raised_at`, which the daemon assigns when it commits them to the store.
// Thread-safety: plain values and pure functions.
#pragma once

#include <boost/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"

namespace bw {

enum class Severity { kCritical, kHigh, kMedium, kInfo };
const char* SeverityName(Severity s);

// Every kind of alert (spec section 6.2); AlertKindName is its name on the wire
// and in the store.  docs/alerts/<name>.md describes each.
enum class AlertKind {
  // Breaches of a condition.
  kExclusionZoneBreach,
  kZoneCrossed,
  kAddressBreach,
  kNoContactBreach,
  kCurfewBreach,
  // The tag and the home unit.
  kTagTamper,
  kTagBattery,
  kTagSignalLost,
  kHomeUnit,
  kUnmatchedTagEvent,
  // Checks, custody, counting, instruments.
  kCheckResult,
  kBreachArrest,
  kSubjectArrested,
  kCustodyRelease,
  kRepeatBreach,
  kInstrumentExpiring,
  // Escalation (alerts/escalation.h) and the feeds (raised by the daemon).
  kUnacknowledged,
  kFeedGap,
  kFeedSilent,
  kFeedRestored,
  kFeedRejected,
  // The daemon's own store (daemon/pipeline.h): store_failing is published without being stored,
  // since the store is what fails; store_recovered is stored as ever.
  kStoreFailing,
  kStoreRecovered,
  // The protected person's own device (protocol 9.3; handlers/rules/proximity_handler.cc,
  // handlers/rules/victim_panic_handler.cc).
  kProximityBreach,
  kProximityWarning,
  kVictimPanic,
};
// "exclusion_zone_breach", ...
const char* AlertKindName(AlertKind kind);
// The kinds that breach a condition (counted as a person's breaches, e.g. conditions.person's
// breach_count): exclusion_zone_breach, zone_crossed, address_breach, no_contact_breach,
// curfew_breach.
const std::vector<AlertKind>& ConditionBreachKinds();
// The kind named `name`; nullopt for a name that is none of them.
std::optional<AlertKind> ParseAlertKind(std::string_view name);
// Writes AlertKindName (test failure messages, logs).
std::ostream& operator<<(std::ostream& os, AlertKind kind);

// One version of one instrument (Instrument::version).
struct InstrumentVersionRef {
  std::string instrument_id;
  uint32_t version = 0;
  bool operator==(const InstrumentVersionRef&) const = default;
};

struct Alert {
  // Assigned at commit.
  std::string alert_id;
  int64_t seq = 0;
  TimePoint raised_at;

  AlertKind kind = AlertKind::kCheckResult;  // always set by whoever makes the alert
  Severity severity = Severity::kInfo;
  TimePoint event_time;
  bool late = false;
  bool in_custody = false;
  std::string person_id;
  std::string instrument_id;
  std::string condition_id;
  std::string case_ref;
  std::string oic;
  std::optional<GeoPoint> location_at;
  std::vector<std::string> location_areas;
  std::vector<std::string> recipients;  // "officer/<id>/" or "control/<id>/", no duplicates
  std::string summary;
  std::string caused_by_source;
  std::string caused_by_id;
  boost::json::object extra;  // kind-specific fields (e.g. instruments, breached)
  // Instruments whose JSON as received goes into extra["instruments"], in this order, before
  // the alert is stored and published (FillInstrumentBodies, handlers/instruments/
  // instrument_bodies.h): the engine keeps no instrument's JSON.  Empty once filled.
  std::vector<InstrumentVersionRef> embed_instruments;
};

std::string OfficerTopic(const std::string& officer_id);
std::string ControlTopic(const std::string& control_id);
// Appends `topic` unless already present or the id part is empty.
void AddRecipient(Alert* alert, const std::string& topic);

// The section 6.2 payload.
boost::json::object AlertToJson(const Alert& alert);

// Reads back a stored payload (the inverse of AlertToJson for every field the
// escalation rules need; kind-specific fields land in `extra`).  BadInput when
// its "kind" is not an AlertKind name.
[[nodiscard]] Result<Alert> AlertFromJson(const boost::json::object& payload);

}  // namespace bw
