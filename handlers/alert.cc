#include "handlers/alert.h"

#include <algorithm>

#include "handlers/time_util.h"

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
  o["kind"] = a.kind;
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

}  // namespace bw
