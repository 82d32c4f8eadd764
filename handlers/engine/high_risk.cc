#include "handlers/engine/high_risk.h"

#include <algorithm>

#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

// The version of `instrument_id` in force at `t`, else its latest version.
std::shared_ptr<const Instrument> InstrumentOfAlert(const EngineState& state,
                                                    const std::string& instrument_id, TimePoint t) {
  if (auto ins = state.instruments.InForceAt(instrument_id, t)) return ins;
  return state.instruments.LatestVersionOf(instrument_id);
}

std::optional<Severity> ParseSeverity(std::string_view s) {
  for (Severity v : {Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kInfo}) {
    if (s == SeverityName(v)) return v;
  }
  return std::nullopt;
}

void CheckResultRisk(const HandlerContext& ctx, Alert* a) {
  bool high = false;
  for (const auto& ins : ctx.state.instruments.SubjectInForce(a->person_id, a->event_time)) {
    high = high || (ins->risk && IsHighRisk(*ins->risk));
  }
  if (high) a->extra["high_risk"] = true;
}

}  // namespace

bool RaisedForHighRisk(AlertKind kind) {
  if (kind == AlertKind::kTagTamper || kind == AlertKind::kTagSignalLost ||
      kind == AlertKind::kCustodyRelease) {
    return true;
  }
  const auto& breaches = ConditionBreachKinds();
  return std::find(breaches.begin(), breaches.end(), kind) != breaches.end();
}

Severity OneStepUp(Severity s) {
  switch (s) {
    case Severity::kMedium:
      return Severity::kHigh;
    case Severity::kHigh:
      return Severity::kCritical;
    case Severity::kCritical:
    case Severity::kInfo:
      return s;
  }
  return s;
}

void ApplyRisk(const HandlerContext& ctx, Alert* a) {
  if (a->kind == AlertKind::kCheckResult) {
    CheckResultRisk(ctx, a);
    return;
  }
  if (a->instrument_id.empty()) return;
  const auto ins = InstrumentOfAlert(ctx.state, a->instrument_id, a->event_time);
  if (!ins || !ins->risk) return;
  const bool high = IsHighRisk(*ins->risk);
  a->extra["risk"] = ins->risk->raw;
  a->extra["high_risk"] = high;
  if (!high || !RaisedForHighRisk(a->kind)) return;

  a->severity = OneStepUp(a->severity);
  // Inhibited by custody (info): the severity it would have had is raised instead.
  if (auto* would = a->extra.if_contains(CustodySeverityKey(a->kind));
      would && would->is_string()) {
    if (auto s = ParseSeverity(would->get_string())) *would = SeverityName(OneStepUp(*s));
  }
  AddRecipient(a, ControlTopic(ins->owning_control));
  if (!a->extra.contains("owning_control")) a->extra["owning_control"] = ins->owning_control;
  if (a->severity == Severity::kCritical) {
    for (const auto& area : a->location_areas) {
      if (std::find(ctx.control_rooms.begin(), ctx.control_rooms.end(), area) !=
          ctx.control_rooms.end()) {
        AddRecipient(a, ControlTopic(area));
      }
    }
    for (const auto& contact : ins->safety_contacts) AddRecipient(a, OfficerTopic(contact));
  }
  a->summary += "; HIGH RISK case";
}

}  // namespace bw
