// tag.strap_tamper / tag.battery / tag.signal / tag.home_unit (protocol sections
// 4.1, 5.2, 5.4, 6.3): what the monitoring provider says about the tag and the
// home unit.
//
//   tag.strap_tamper          -> tag_tamper       critical
//   tag.battery dead          -> tag_battery      high   (low / critical: medium)
//   tag.signal lost           -> tag_signal_lost  high   (restored: note only)
//   tag.home_unit tamper      -> home_unit        high   (power_loss / moved: medium;
//                                                         restored: note only)
//
// One alert per instrument in force at the event time (instrument_id, case_ref
// and oic set, so each case's officer acknowledges and resolves it and
// escalation goes to that instrument's supervisor), to the instrument's `oic`;
// a critical one also to its `owning_control` (and the control room of the
// area, when the event has a location).
//
// Custody (5.2): dated inside a custody interval, the alert does not page the
// OIC: severity info, in_custody true, only control/<owning_control>/, the
// usual severity in original_severity (PageOrInhibitForCustody).
//
// No instrument in force: unmatched_tag_event (see device_alerts.h), even for
// a "restored" state - the data gap is what is reported.
// These events are not breaches of a condition and are not counted for
// repeat_breach.
//
// Stateless and read-only (no mutations); thread-safety as for every EventHandler.
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/device_alerts.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

// What a device event means when the person has instruments in force; no
// kind when it raises no alert.
struct DeviceMeaning {
  std::optional<AlertKind> kind;
  Severity severity = Severity::kMedium;
  std::string what;  // human-readable, e.g. "strap tamper"
};

DeviceMeaning Classify(const Event& e) {
  switch (e.type) {
    case EventType::kTagStrapTamper:
      return {AlertKind::kTagTamper, Severity::kCritical, "strap tamper"};
    case EventType::kTagBattery:
      return {AlertKind::kTagBattery, e.level == "dead" ? Severity::kHigh : Severity::kMedium,
              "battery " + e.level};
    case EventType::kTagSignal:
      if (e.state == "restored") return {std::nullopt, Severity::kInfo, "signal restored"};
      return {AlertKind::kTagSignalLost, Severity::kHigh, "signal lost"};
    case EventType::kTagHomeUnit:
      if (e.state == "restored") return {std::nullopt, Severity::kInfo, "home unit restored"};
      return {AlertKind::kHomeUnit, e.state == "tamper" ? Severity::kHigh : Severity::kMedium,
              "home unit " + e.state};
    default:
      return {std::nullopt, Severity::kInfo, EventTypeName(e.type)};
  }
}

std::string Capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

void AddDeviceFields(const Event& e, Alert* a) {
  a->extra["event_type"] = EventTypeName(e.type);
  a->extra["device_id"] = e.device_id;
  if (!e.state.empty()) a->extra["state"] = e.state;
  if (!e.level.empty()) a->extra["level"] = e.level;
}

class DeviceHandler final : public EventHandler {
 public:
  const char* name() const override { return "tag.device"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* o) const override {
    const DeviceMeaning m = Classify(e);
    auto in_force = ctx.state.instruments.SubjectInForce(e.person_id, e.time);
    if (in_force.empty()) {
      o->alerts.push_back(MakeUnmatchedTagAlert(ctx, e));
      o->note = m.what + " from " + e.device_id + ": " + e.person_id +
                " has no instrument in force; unmatched_tag_event raised";
      return Status::Ok();
    }
    const std::optional<TimePoint> custody_since = ctx.state.CustodySince(e.person_id, e.time);
    if (!m.kind) {
      o->note = m.what + " from " + e.device_id + " for " + e.person_id + "; no alert";
      return Status::Ok();
    }

    std::vector<std::string> areas, control_areas;
    ResolveAreas(ctx.zones, e.location, &areas, &control_areas);
    for (const auto& ins : in_force) {
      Alert a = NewEventAlert(ctx, e, *m.kind, m.severity, e.person_id, ins.get());
      a.location_areas = areas;
      AddDeviceFields(e, &a);
      a.extra["owning_control"] = ins->owning_control;
      a.summary = Capitalised(m.what) + " on tag " + e.device_id + " worn by " + e.person_id +
                  " (" + ins->instrument_id + ")";
      PageOrInhibitForCustody(custody_since, control_areas, *ins, &a);
      o->alerts.push_back(std::move(a));
    }
    o->note = m.what + " from " + e.device_id + " for " + e.person_id + ": " +
              std::to_string(o->alerts.size()) + " alert(s)" +
              (custody_since ? " (in custody: control room only, info)" : "");
    return Status::Ok();
  }
};

}  // namespace

Alert MakeUnmatchedTagAlert(const HandlerContext& ctx, const Event& e) {
  Alert a =
      NewEventAlert(ctx, e, AlertKind::kUnmatchedTagEvent, Severity::kMedium, e.person_id, nullptr);
  a.in_custody = ctx.state.InCustodyAt(e.person_id, e.time);
  std::vector<std::string> areas, control_areas;
  ResolveAreas(ctx.zones, e.location, &areas, &control_areas);
  a.location_areas = areas;
  AddDeviceFields(e, &a);
  if (!control_areas.empty()) {
    for (const auto& area : control_areas) AddRecipient(&a, ControlTopic(area));
  } else {
    for (const auto& room : ctx.control_rooms) AddRecipient(&a, ControlTopic(room));
  }
  const bool victim_device =
      e.type == EventType::kVictimPosition || e.type == EventType::kVictimPanic;
  a.summary = std::string(EventTypeName(e.type)) + (victim_device ? " from device " : " from tag ") +
              e.device_id + " for " + e.person_id +
              (victim_device ? ", whom no instrument in force protects: a protected person's "
                               "device with no order behind it (data gap)"
                             : ", who has no instrument in force: monitoring data with no "
                               "conditions (data gap)");
  return a;
}

std::shared_ptr<const EventHandler> MakeDeviceHandler() {
  return std::make_shared<DeviceHandler>();
}

void RaiseUnmatched(const HandlerContext& ctx, const Event& e, Outcome* out) {
  // One run per person and kind of data: a GPS stream is one run, a curfew
  // violation from the home unit another.
  const EpisodeKey key{e.person_id, "", std::string("unmatched:") + EventTypeName(e.type)};
  const auto debounce = std::chrono::seconds(ctx.policy.exit_debounce_s);
  if (auto it = ctx.state.episodes.find(key); it != ctx.state.episodes.end()) {
    const Episode& ep = it->second;
    if (e.time >= ep.opened_at - debounce && e.time <= ep.last_breach_at + debounce) {
      out->mutations.push_back([key, t = e.time](EngineState& s) {
        auto& ep = s.episodes[key];
        ep.opened_at = std::min(ep.opened_at, t);
        ep.last_breach_at = std::max(ep.last_breach_at, t);
      });
      return;
    }
  }
  out->alerts.push_back(MakeUnmatchedTagAlert(ctx, e));
  out->mutations.push_back([key, t = e.time](EngineState& s) {
    s.episodes[key] = Episode{t, t, AlertKind::kUnmatchedTagEvent};
  });
}

}  // namespace bw
