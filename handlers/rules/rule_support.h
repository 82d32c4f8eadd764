// What the rule handlers (handlers/rules/) share: the alert header block, who is
// paged, the custody step (spec 5.2), and the place-based conditions judged from
// a point (exclusion_zone, not_to_attend).
//
// Pure functions of their arguments; thread-safety as for handlers (read-only use
// of a state nobody is changing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/engine/event_handler.h"
#include "handlers/geo/geometry.h"
#include "handlers/geo/zone_index.h"
#include "handlers/instruments/instrument.h"
#include "handlers/wire/event.h"

namespace bw {

// ---- The alert header block ----

// Who an alert is about: person_id and, when `instrument` is given, its
// instrument_id, case_ref and oic.
void SetSubject(const std::string& person, const Instrument* instrument, Alert* a);
// What the event that caused an alert says: event_time, late, caused_by and
// location.at.
void FillCommon(const HandlerContext& ctx, const Event& cause, Alert* a);
// A new alert of `kind` and `severity` about `person` (SetSubject) caused by
// `cause` (FillCommon): the header every event-driven alert starts from.
Alert NewEventAlert(const HandlerContext& ctx, const Event& cause, AlertKind kind,
                    Severity severity, const std::string& person, const Instrument* instrument);

// ---- Recipients (spec 6.3) ----

// The control rooms of the area (`control_areas`, as ResolveAreas gives them),
// then the instrument's owning control room.
void AddControlRooms(const std::vector<std::string>& control_areas, const Instrument& instrument,
                     Alert* a);
// A breach or device alert that pages: the instrument's OIC and, when the alert
// is critical, AddControlRooms.
void AddPagedRecipients(const std::vector<std::string>& control_areas, const Instrument& instrument,
                        Alert* a);

// ---- Custody (spec 5.2) ----

// The key under which an alert inhibited by custody carries the severity it
// would have had: "original_severity" for the device alerts (tag_tamper,
// tag_battery, tag_signal_lost, home_unit), "breach_severity" for breaches.
// Both are documented per kind (docs/alerts/) and read by clients.
const char* CustodySeverityKey(AlertKind kind);

// The custody step for an alert from the tag or the home unit (a breach seen
// from a fix or a curfew violation, or a device alert) about `instrument`,
// whose alert header, summary and extras are filled and whose severity is the
// one it would have when paging.  Dated inside a custody interval that began
// at `*custody_since`: recorded and told to the owning control room only, as
// info, marked in_custody, the usual severity under CustodySeverityKey, the
// summary saying nobody was paged (device alerts also carry custody_since).
// Otherwise: AddPagedRecipients.  Returns true when the alert pages (so that a
// breach counts towards repeat breaches), false when custody inhibited it.
bool PageOrInhibitForCustody(const std::optional<TimePoint>& custody_since,
                             const std::vector<std::string>& control_areas,
                             const Instrument& instrument, Alert* a);

// ---- Places ----

// Every zone code containing the location (plus its `area`), and those of the
// first zone set (the control-room map).
void ResolveAreas(const ZoneIndex& zones, const Location& loc, std::vector<std::string>* all_areas,
                  std::vector<std::string>* control_areas);
// "E09000023 (Lewisham)".
std::string ZoneLabel(const ZoneIndex& zones, const std::string& code);
// "12 m".
std::string RoundMetres(double metres);

// The area an exclusion_zone condition forbids: its inline polygon, or the
// loaded zone its code names, with a bounding box when one is known (to rule
// points out cheaply).  Not known() when the zone code is not loaded.  An inline
// zone is held compactly (handlers/geo/compact_area.h) and expanded into
// polygons by the first call of geometry(), so a point the box rules out costs
// no expansion.  A value for the duration of one decision, used by one thread;
// it points into the condition and the zone index, which must outlive it.
class ExclusionArea {
 public:
  ExclusionArea() = default;
  ExclusionArea(const GeoMultiPolygon* zone, const GeoBox* box) : zone_(zone), box_(box) {}
  ExclusionArea(const CompactArea* inline_zone, const GeoBox* box)
      : compact_(inline_zone), box_(box) {}

  bool known() const { return zone_ != nullptr || compact_ != nullptr; }
  // The envelope of geometry(), or null when none is known.
  const GeoBox* box() const { return box_; }
  // The polygons (known() only).
  const GeoMultiPolygon& geometry() const {
    if (zone_ != nullptr) return *zone_;
    if (!expanded_) expanded_ = compact_->Expand();
    return *expanded_;
  }

 private:
  const GeoMultiPolygon* zone_ = nullptr;
  const CompactArea* compact_ = nullptr;
  const GeoBox* box_ = nullptr;
  mutable std::optional<GeoMultiPolygon> expanded_;  // compact_, expanded on first use
};
ExclusionArea ExclusionAreaOf(const ZoneIndex& zones, const Condition& c);
// How alerts name that area: ZoneLabel of the code, or "an excluded area".
std::string ExclusionAreaLabel(const ZoneIndex& zones, const Condition& c);

// Whether a location reported by a check or an incident (a point and/or an
// area code) shows `person` breaching `c`: an exclusion_zone by the point
// inside the area or the area code being the zone's, a not_to_attend place by
// the point within radius_m.  If so, makes `a` that breach (kind, summary, and
// distance_inside_m or distance_m) and returns true; `context` (e.g. " in
// incident INC-1") follows the place in the summary.  Other condition kinds:
// false.
bool BreachedAtReportedLocation(const ZoneIndex& zones, const Condition& c, const Location& loc,
                                const std::string& person, const Instrument& instrument,
                                const std::string& context, Alert* a);

// The not_to_attend rule (spec 5.1): the geodesic distance from `at` to the
// condition's place when it is within radius_m (the boundary counts), else
// nullopt (also when the condition has no place).
std::optional<double> NotToAttendDistance(const Condition& c, const GeoPoint& at);
// Makes `a` an address_breach of `c` at `distance_m`: kind, distance_m and the
// summary "<person> is <d> from <label><context> (not to attend within <r><detail>),
// <instrument_id>"; `context` and `detail` may be empty.
void DescribeAddressBreach(const std::string& person, double distance_m, const Condition& c,
                           const Instrument& instrument, const std::string& context,
                           const std::string& detail, Alert* a);

}  // namespace bw
