// Escalation routing (spec 6.4): who an unacknowledged alert goes to next.  The tick reads the due
// deadlines from the store; this decides, from the engine's state alone, the next step and the
// stored deadline after it.
//
// Pure function of its arguments; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/engine/engine_state.h"
#include "handlers/alerts/escalation.h"
#include "handlers/engine/policy.h"

namespace bw {

struct EscalationDecision {
  std::optional<Alert> unacknowledged;  // the alert to raise now, if a step is due
  int level = 0;                        // the level now reached
  std::optional<TimePoint> next_at;     // the deadline of the step after it, if any
};

// `about` is the stored alert whose deadline passed, at `current_level`, raised at `raised_at`.
// Level 1 goes to the instrument's supervisor (its latest version with one); level 2 to the
// control rooms the alert went to, the instrument's owning control room and every control room of
// the area where it happened — else to every control room in `control_rooms`.
EscalationDecision DecideEscalation(Alert about, int current_level, TimePoint raised_at,
                                    const EngineState& state,
                                    const std::vector<std::string>& control_rooms,
                                    const Policy& policy);

}  // namespace bw
