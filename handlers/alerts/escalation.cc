#include "handlers/alerts/escalation.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace bw {

std::optional<int64_t> AckSlaSeconds(Severity severity, const Policy& policy) {
  int64_t s = 0;
  switch (severity) {
    case Severity::kCritical:
      s = policy.ack_sla_s.critical_s;
      break;
    case Severity::kHigh:
      s = policy.ack_sla_s.high_s;
      break;
    case Severity::kMedium:
      s = policy.ack_sla_s.medium_s;
      break;
    case Severity::kInfo:
      return std::nullopt;
  }
  if (s <= 0) return std::nullopt;
  return s;
}

std::optional<int64_t> AckSlaSeconds(const Alert& alert, const Policy& policy) {
  const auto* high_risk = alert.extra.if_contains("high_risk");
  if (high_risk == nullptr || !high_risk->is_bool() || !high_risk->get_bool()) {
    return AckSlaSeconds(alert.severity, policy);
  }
  int64_t s = 0;
  switch (alert.severity) {
    case Severity::kCritical:
      s = policy.ack_sla_high_risk_s.critical_s;
      break;
    case Severity::kHigh:
      s = policy.ack_sla_high_risk_s.high_s;
      break;
    case Severity::kMedium:
    case Severity::kInfo:
      return AckSlaSeconds(alert.severity, policy);
  }
  if (s <= 0) return std::nullopt;
  return s;
}

std::optional<EscalationStep> NextEscalation(
    const Alert& alert, const std::string& supervisor, int current_level, TimePoint raised_at,
    const Policy& policy, const std::vector<std::string>& fallback_control_rooms) {
  if (alert.kind == AlertKind::kUnacknowledged) return std::nullopt;
  const std::optional<int64_t> sla = AckSlaSeconds(alert, policy);
  if (!sla || current_level < 0 || current_level >= 2) return std::nullopt;

  EscalationStep step;
  if (current_level == 0 && !supervisor.empty()) {
    step.level = 1;
    step.due = raised_at + std::chrono::seconds(*sla);
    step.recipients.push_back(OfficerTopic(supervisor));
    return step;
  }
  step.level = 2;
  // Skipping level 1 (no supervisor) escalates to the control rooms at the first deadline.
  step.due = raised_at + std::chrono::seconds(*sla * (current_level == 0 ? 1 : 2));
  Alert collect;  // AddRecipient's de-duplication
  for (const auto& r : alert.recipients) {
    if (r.starts_with("control/")) AddRecipient(&collect, r);
  }
  if (auto it = alert.extra.find("owning_control");
      it != alert.extra.end() && it->value().is_string()) {
    AddRecipient(&collect, ControlTopic(std::string(it->value().as_string())));
  }
  if (collect.recipients.empty()) {
    for (const auto& room : fallback_control_rooms) AddRecipient(&collect, ControlTopic(room));
  }
  step.recipients = std::move(collect.recipients);
  return step;
}

Alert MakeUnacknowledgedAlert(const Alert& about, int level,
                              const std::vector<std::string>& recipients) {
  Alert a;
  a.kind = AlertKind::kUnacknowledged;
  a.severity = about.severity;
  a.event_time = about.event_time;
  a.late = about.late;
  a.in_custody = about.in_custody;
  a.person_id = about.person_id;
  a.instrument_id = about.instrument_id;
  a.condition_id = about.condition_id;
  a.case_ref = about.case_ref;
  a.oic = about.oic;
  a.location_at = about.location_at;
  a.location_areas = about.location_areas;
  for (const auto& r : recipients) AddRecipient(&a, r);
  a.caused_by_source = about.caused_by_source;
  a.caused_by_id = about.caused_by_id;
  a.summary = std::string(level == 1 ? "Not acknowledged by " : "Still not acknowledged by ") +
              (about.oic.empty() ? std::string("its recipients") : about.oic) + ": " +
              SeverityName(about.severity) + " " + AlertKindName(about.kind) + " " +
              about.alert_id + " - " + about.summary;
  a.extra["about_alert_id"] = about.alert_id;
  a.extra["about_kind"] = AlertKindName(about.kind);
  a.extra["about_seq"] = about.seq;
  a.extra["level"] = level;
  if (auto it = about.extra.find("owning_control"); it != about.extra.end()) {
    a.extra["owning_control"] = it->value();
  }
  return a;
}

Status ValidateResolution(const std::string& outcome, const std::string& note) {
  static constexpr std::array<std::string_view, 7> kOutcomes = {
      "arrested",          "warned",   "attended_no_breach", "false_alarm", "in_custody",
      "referred_to_court", "no_action"};
  if (std::find(kOutcomes.begin(), kOutcomes.end(), outcome) == kOutcomes.end()) {
    return Status::BadInput("outcome",
                            "\"" + outcome +
                                "\" is not an outcome; use arrested, warned, attended_no_breach, "
                                "false_alarm, in_custody, referred_to_court or no_action",
                            "out_of_range");
  }
  if (outcome == "no_action" && note.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::BadInput("note", "outcome no_action requires a note saying why",
                            "missing_field");
  }
  return Status::Ok();
}

}  // namespace bw
