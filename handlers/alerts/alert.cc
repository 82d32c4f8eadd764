#include "handlers/alerts/alert.h"

#include <algorithm>
#include <array>
#include <ostream>
#include <utility>

#include "handlers/base/time_util.h"

namespace bw {

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return "critical";
    case Severity::kHigh:
      return "high";
    case Severity::kMedium:
      return "medium";
    case Severity::kInfo:
      return "info";
  }
  return "info";
}

namespace {

constexpr std::array<std::pair<AlertKind, const char*>, 26> kAlertKindNames = {{
    {AlertKind::kExclusionZoneBreach, "exclusion_zone_breach"},
    {AlertKind::kZoneCrossed, "zone_crossed"},
    {AlertKind::kAddressBreach, "address_breach"},
    {AlertKind::kNoContactBreach, "no_contact_breach"},
    {AlertKind::kCurfewBreach, "curfew_breach"},
    {AlertKind::kTagTamper, "tag_tamper"},
    {AlertKind::kTagBattery, "tag_battery"},
    {AlertKind::kTagSignalLost, "tag_signal_lost"},
    {AlertKind::kHomeUnit, "home_unit"},
    {AlertKind::kUnmatchedTagEvent, "unmatched_tag_event"},
    {AlertKind::kCheckResult, "check_result"},
    {AlertKind::kBreachArrest, "breach_arrest"},
    {AlertKind::kSubjectArrested, "subject_arrested"},
    {AlertKind::kCustodyRelease, "custody_release"},
    {AlertKind::kRepeatBreach, "repeat_breach"},
    {AlertKind::kInstrumentExpiring, "instrument_expiring"},
    {AlertKind::kUnacknowledged, "unacknowledged"},
    {AlertKind::kFeedGap, "feed_gap"},
    {AlertKind::kFeedSilent, "feed_silent"},
    {AlertKind::kFeedRestored, "feed_restored"},
    {AlertKind::kFeedRejected, "feed_rejected"},
    {AlertKind::kStoreFailing, "store_failing"},
    {AlertKind::kStoreRecovered, "store_recovered"},
    {AlertKind::kProximityBreach, "proximity_breach"},
    {AlertKind::kProximityWarning, "proximity_warning"},
    {AlertKind::kVictimPanic, "victim_panic"},
}};

}  // namespace

const std::vector<AlertKind>& ConditionBreachKinds() {
  static const std::vector<AlertKind> kinds = {
      AlertKind::kExclusionZoneBreach, AlertKind::kZoneCrossed, AlertKind::kAddressBreach,
      AlertKind::kNoContactBreach, AlertKind::kCurfewBreach};
  return kinds;
}

const char* AlertKindName(AlertKind kind) {
  for (const auto& [k, name] : kAlertKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<AlertKind> ParseAlertKind(std::string_view name) {
  for (const auto& [k, n] : kAlertKindNames) {
    if (name == n) return k;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, AlertKind kind) { return os << AlertKindName(kind); }

std::string OfficerTopic(const std::string& officer_id) {
  return officer_id.empty() ? std::string() : "officer/" + officer_id + "/";
}

std::string ControlTopic(const std::string& control_id) {
  return control_id.empty() ? std::string() : "control/" + control_id + "/";
}

void AddRecipient(Alert* alert, const std::string& topic) {
  if (topic.empty()) return;
  if (std::find(alert->recipients.begin(), alert->recipients.end(), topic) !=
      alert->recipients.end()) {
    return;
  }
  alert->recipients.push_back(topic);
}

boost::json::object AlertToJson(const Alert& a) {
  boost::json::object o;
  o["alert_id"] = a.alert_id;
  o["seq"] = a.seq;
  o["kind"] = AlertKindName(a.kind);
  o["severity"] = SeverityName(a.severity);
  o["raised_at"] = FormatRfc3339(a.raised_at);
  o["event_time"] = FormatRfc3339(a.event_time);
  o["late"] = a.late;
  o["in_custody"] = a.in_custody;
  if (!a.person_id.empty()) o["person_id"] = a.person_id;
  if (!a.instrument_id.empty()) o["instrument_id"] = a.instrument_id;
  if (!a.condition_id.empty()) o["condition_id"] = a.condition_id;
  if (!a.case_ref.empty()) o["case_ref"] = a.case_ref;
  if (!a.oic.empty()) o["oic"] = a.oic;
  if (a.location_at || !a.location_areas.empty()) {
    boost::json::object loc;
    if (a.location_at) loc["at"] = boost::json::array{a.location_at->x(), a.location_at->y()};
    boost::json::array areas;
    for (const auto& area : a.location_areas) areas.emplace_back(area);
    loc["areas"] = std::move(areas);
    o["location"] = std::move(loc);
  }
  boost::json::array recipients;
  for (const auto& r : a.recipients) recipients.emplace_back(r);
  o["recipients"] = std::move(recipients);
  o["summary"] = a.summary;
  if (!a.caused_by_source.empty() || !a.caused_by_id.empty()) {
    o["caused_by"] = {{"source", a.caused_by_source}, {"id", a.caused_by_id}};
  }
  for (const auto& [k, v] : a.extra) o[k] = v;
  return o;
}

namespace {
std::string StrField(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                  : std::string();
}
}  // namespace

Result<Alert> AlertFromJson(const boost::json::object& o) {
  static const char* const kCommon[] = {
      "alert_id", "seq",        "kind",        "severity",      "raised_at",
      "event_time", "late",     "in_custody",  "person_id",     "instrument_id",
      "condition_id", "case_ref", "oic",       "location",      "recipients",
      "summary",  "caused_by"};
  Alert a;
  a.alert_id = StrField(o, "alert_id");
  if (auto it = o.find("seq"); it != o.end() && it->value().is_int64()) a.seq = it->value().get_int64();
  const std::string kind = StrField(o, "kind");
  const std::optional<AlertKind> parsed_kind = ParseAlertKind(kind);
  if (!parsed_kind) return Status::BadInput("kind", "unknown alert kind \"" + kind + "\"");
  a.kind = *parsed_kind;
  const std::string severity = StrField(o, "severity");
  a.severity = severity == "critical" ? Severity::kCritical
               : severity == "high"   ? Severity::kHigh
               : severity == "medium" ? Severity::kMedium
                                      : Severity::kInfo;
  if (auto t = ParseRfc3339(StrField(o, "raised_at"))) a.raised_at = *t;
  if (auto t = ParseRfc3339(StrField(o, "event_time"))) a.event_time = *t;
  if (auto it = o.find("late"); it != o.end() && it->value().is_bool()) a.late = it->value().get_bool();
  if (auto it = o.find("in_custody"); it != o.end() && it->value().is_bool()) {
    a.in_custody = it->value().get_bool();
  }
  a.person_id = StrField(o, "person_id");
  a.instrument_id = StrField(o, "instrument_id");
  a.condition_id = StrField(o, "condition_id");
  a.case_ref = StrField(o, "case_ref");
  a.oic = StrField(o, "oic");
  if (auto it = o.find("location"); it != o.end() && it->value().is_object()) {
    const auto& loc = it->value().get_object();
    if (auto at = loc.find("at"); at != loc.end() && at->value().is_array() &&
                                  at->value().get_array().size() == 2) {
      a.location_at = GeoPoint(at->value().get_array()[0].to_number<double>(),
                               at->value().get_array()[1].to_number<double>());
    }
    if (auto areas = loc.find("areas"); areas != loc.end() && areas->value().is_array()) {
      for (const auto& v : areas->value().get_array()) {
        if (v.is_string()) a.location_areas.emplace_back(v.get_string());
      }
    }
  }
  if (auto it = o.find("recipients"); it != o.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (v.is_string()) a.recipients.emplace_back(v.get_string());
    }
  }
  a.summary = StrField(o, "summary");
  if (auto it = o.find("caused_by"); it != o.end() && it->value().is_object()) {
    a.caused_by_source = StrField(it->value().get_object(), "source");
    a.caused_by_id = StrField(it->value().get_object(), "id");
  }
  for (const auto& [k, v] : o) {
    bool common = false;
    for (const char* c : kCommon) common = common || k == c;
    if (!common) a.extra[k] = v;
  }
  return a;
}

}  // namespace bw
