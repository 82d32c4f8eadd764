#include "handlers/alerts/escalation_routing.h"

#include <algorithm>

namespace bw {

EscalationDecision DecideEscalation(Alert about, int current_level, TimePoint raised_at,
                                    const EngineState& state,
                                    const std::vector<std::string>& control_rooms,
                                    const Policy& policy) {
  std::string supervisor;
  std::vector<std::string> fallback = control_rooms;
  if (!about.instrument_id.empty()) {
    if (auto latest = state.instruments.LatestVersionOf(about.instrument_id)) {
      supervisor = latest->supervisor;
      fallback = {latest->owning_control};
    }
  }
  // Level 2 is for the owning control room and the control room of the area where it happened
  // (spec 6.4), whoever the alert first went to.
  if (fallback.size() == 1) AddRecipient(&about, ControlTopic(fallback.front()));
  for (const auto& area : about.location_areas) {
    if (std::find(control_rooms.begin(), control_rooms.end(), area) != control_rooms.end()) {
      AddRecipient(&about, ControlTopic(area));
    }
  }
  EscalationDecision out;
  out.level = current_level;
  auto step = NextEscalation(about, supervisor, current_level, raised_at, policy, fallback);
  if (!step) return out;
  out.unacknowledged = MakeUnacknowledgedAlert(about, step->level, step->recipients);
  out.level = step->level;
  if (auto next = NextEscalation(about, supervisor, step->level, raised_at, policy, fallback)) {
    out.next_at = next->due;
  }
  return out;
}

}  // namespace bw
