#include "handlers/rules/rule_support.h"

#include <algorithm>
#include <cmath>

#include "handlers/base/time_util.h"

namespace bw {

void SetSubject(const std::string& person, const Instrument* instrument, Alert* a) {
  a->person_id = person;
  if (instrument == nullptr) return;
  a->instrument_id = instrument->instrument_id;
  a->case_ref = instrument->case_ref;
  a->oic = instrument->oic;
}

void FillCommon(const HandlerContext& ctx, const Event& cause, Alert* a) {
  a->event_time = cause.time;
  a->late = cause.time < ctx.now - std::chrono::seconds(ctx.policy.late_after_s);
  a->caused_by_source = cause.source;
  a->caused_by_id = cause.id;
  a->location_at = cause.location.at;
}

Alert NewEventAlert(const HandlerContext& ctx, const Event& cause, AlertKind kind,
                    Severity severity, const std::string& person, const Instrument* instrument) {
  Alert a;
  a.kind = kind;
  a.severity = severity;
  SetSubject(person, instrument, &a);
  FillCommon(ctx, cause, &a);
  return a;
}

void AddControlRooms(const std::vector<std::string>& control_areas, const Instrument& instrument,
                     Alert* a) {
  for (const auto& area : control_areas) AddRecipient(a, ControlTopic(area));
  AddRecipient(a, ControlTopic(instrument.owning_control));
}

void AddPagedRecipients(const std::vector<std::string>& control_areas, const Instrument& instrument,
                        Alert* a) {
  AddRecipient(a, OfficerTopic(instrument.oic));
  if (a->severity == Severity::kCritical) AddControlRooms(control_areas, instrument, a);
}

namespace {

// The alerts about the tag and the home unit themselves (device_handler.cc),
// as opposed to breaches of a condition.
bool IsDeviceAlertKind(AlertKind kind) {
  return kind == AlertKind::kTagTamper || kind == AlertKind::kTagBattery ||
         kind == AlertKind::kTagSignalLost || kind == AlertKind::kHomeUnit;
}

}  // namespace

const char* CustodySeverityKey(AlertKind kind) {
  return IsDeviceAlertKind(kind) ? "original_severity" : "breach_severity";
}

bool PageOrInhibitForCustody(const std::optional<TimePoint>& custody_since,
                             const std::vector<std::string>& control_areas,
                             const Instrument& instrument, Alert* a) {
  if (!custody_since) {
    AddPagedRecipients(control_areas, instrument, a);
    return true;
  }
  a->extra[CustodySeverityKey(a->kind)] = SeverityName(a->severity);
  a->severity = Severity::kInfo;
  a->in_custody = true;
  AddRecipient(a, ControlTopic(instrument.owning_control));
  if (IsDeviceAlertKind(a->kind)) {
    a->extra["custody_since"] = FormatRfc3339(*custody_since);
    a->summary += "; in custody since " + FormatRfc3339(*custody_since) +
                  ", recorded for the control room, OIC not paged";
  } else {
    a->summary += " (in custody at the time: recorded, not paged)";
  }
  return false;
}

void ResolveAreas(const ZoneIndex& zones, const Location& loc, std::vector<std::string>* all_areas,
                  std::vector<std::string>* control_areas) {
  const std::string control_set = zones.zones().empty() ? "" : zones.zones().front().zone_set;
  auto add = [](std::vector<std::string>* v, const std::string& s) {
    if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
  };
  if (loc.at) {
    for (const Zone* z : zones.ZonesContaining(*loc.at)) {
      add(all_areas, z->code);
      if (z->zone_set == control_set) add(control_areas, z->code);
    }
  }
  if (!loc.area.empty()) {
    add(all_areas, loc.area);
    const Zone* z = zones.Find(loc.area);
    if (z == nullptr || z->zone_set == control_set) add(control_areas, loc.area);
  }
}

std::string ZoneLabel(const ZoneIndex& zones, const std::string& code) {
  const Zone* z = zones.Find(code);
  if (z == nullptr || z->name.empty() || z->name == code) return code;
  return code + " (" + z->name + ")";
}

std::string RoundMetres(double m) {
  return std::to_string(static_cast<long>(std::lround(m))) + " m";
}

ExclusionArea ExclusionAreaOf(const ZoneIndex& zones, const Condition& c) {
  if (c.inline_zone) {
    return ExclusionArea(
        &*c.inline_zone,
        c.prefilter.kind == FixPrefilter::Kind::kEnvelope ? &c.prefilter.box : nullptr);
  }
  if (const Zone* z = zones.Find(c.zone_code)) return ExclusionArea(&z->geometry, &z->bbox);
  return {};
}

std::string ExclusionAreaLabel(const ZoneIndex& zones, const Condition& c) {
  return c.inline_zone ? std::string("an excluded area") : ZoneLabel(zones, c.zone_code);
}

std::optional<double> NotToAttendDistance(const Condition& c, const GeoPoint& at) {
  if (!c.place) return std::nullopt;
  const double d = GeodesicDistanceMeters(at, c.place->at);
  if (d > c.place->radius_m) return std::nullopt;
  return d;
}

void DescribeAddressBreach(const std::string& person, double distance_m, const Condition& c,
                           const Instrument& instrument, const std::string& context,
                           const std::string& detail, Alert* a) {
  a->kind = AlertKind::kAddressBreach;
  a->extra["distance_m"] = std::lround(distance_m);
  const std::string label =
      c.place && !c.place->label.empty() ? c.place->label : std::string("a protected address");
  const double radius_m = c.place ? c.place->radius_m : 0;
  a->summary = person + " is " + RoundMetres(distance_m) + " from " + label + context +
               " (not to attend within " + RoundMetres(radius_m) + detail + "), " +
               instrument.instrument_id;
}

namespace {

// Where a reported location lies in exclusion zone `c` ("E09000023 (Lewisham),
// 120 m inside the boundary", distance_inside_m into `a`), or nullopt.
std::optional<std::string> ReportedInsideExclusion(const ZoneIndex& zones, const Condition& c,
                                                   const Location& loc, Alert* a) {
  const ExclusionArea area = ExclusionAreaOf(zones, c);
  // The box first (Covers implies BoxCovers): an inline zone is then expanded only near it.
  if (loc.at && area.known() && (area.box() == nullptr || BoxCovers(*area.box(), *loc.at)) &&
      Covers(area.geometry(), *loc.at)) {
    const double inside = DistanceToBoundaryMeters(area.geometry(), *loc.at);
    a->extra["distance_inside_m"] = std::lround(inside);
    return ExclusionAreaLabel(zones, c) + ", " + RoundMetres(inside) + " inside the boundary";
  }
  if (!c.zone_code.empty() && !loc.area.empty() && loc.area == c.zone_code) {
    return ZoneLabel(zones, c.zone_code);
  }
  return std::nullopt;
}

}  // namespace

bool BreachedAtReportedLocation(const ZoneIndex& zones, const Condition& c, const Location& loc,
                                const std::string& person, const Instrument& instrument,
                                const std::string& context, Alert* a) {
  if (c.kind == ConditionKind::kExclusionZone) {
    const std::optional<std::string> where = ReportedInsideExclusion(zones, c, loc, a);
    if (!where) return false;
    a->kind = AlertKind::kExclusionZoneBreach;
    a->summary =
        person + " is inside " + *where + context + ", excluded by " + instrument.instrument_id;
    return true;
  }
  if (c.kind == ConditionKind::kNotToAttend && loc.at) {
    const std::optional<double> d = NotToAttendDistance(c, *loc.at);
    if (!d) return false;
    DescribeAddressBreach(person, *d, c, instrument, context, "", a);
    return true;
  }
  return false;
}

}  // namespace bw
