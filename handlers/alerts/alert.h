// Alerts (spec section 6): what the engine decides to tell whom.
//
// The engine produces Alert values with everything but `alert_id`, `seq` and
// `raised_at`, which the daemon assigns when it commits them to the store.
// Thread-safety: plain values.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/geo/geometry.h"

namespace bw {

enum class Severity { kCritical, kHigh, kMedium, kInfo };
const char* SeverityName(Severity s);

struct Alert {
  // Assigned at commit.
  std::string alert_id;
  int64_t seq = 0;
  TimePoint raised_at;

  std::string kind;  // e.g. "exclusion_zone_breach", "check_result"
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
};

std::string OfficerTopic(const std::string& officer_id);
std::string ControlTopic(const std::string& control_id);
// Appends `topic` unless already present or the id part is empty.
void AddRecipient(Alert* alert, const std::string& topic);

// The section 6.2 payload.
boost::json::object AlertToJson(const Alert& alert);

// Reads back a stored payload (the inverse of AlertToJson for every field the
// escalation rules need; kind-specific fields land in `extra`).
Alert AlertFromJson(const boost::json::object& payload);

}  // namespace bw
