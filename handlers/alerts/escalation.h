// Acknowledgement SLAs and escalation (protocol section 6.4): pure rules the
// daemon drives with a timer.
//
// An alert that needs acknowledgement (every severity but info) and is not
// acknowledged within ack_sla_s[severity] (ack_sla_high_risk_s[severity] for
// one about a high-risk case) of being raised escalates:
//   level 1 at raised_at + sla      -> an `unacknowledged` alert to the supervisor;
//   level 2 at raised_at + 2 * sla  -> to the owning control room and the control
//                                      room(s) of the area;
// nothing after level 2.  The daemon stores each open alert's raised_at and
// current level (so a restart does not reset the clocks), asks NextEscalation
// when the next step is due, raises MakeUnacknowledgedAlert at that time, and
// stops when alert.ack arrives.  `unacknowledged` alerts are not themselves
// escalated.  alert.resolve is checked with ValidateResolution.
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/engine/policy.h"

namespace bw {

// Seconds to acknowledge an alert of `severity`; nullopt for info (no ack
// needed) and for a non-positive configured SLA (escalation switched off).
std::optional<int64_t> AckSlaSeconds(Severity severity, const Policy& policy);
// The same for `alert`: ack_sla_high_risk_s when it carries "high_risk": true
// (protocol 9.2), else AckSlaSeconds(alert.severity).
std::optional<int64_t> AckSlaSeconds(const Alert& alert, const Policy& policy);

struct EscalationStep {
  int level = 0;                        // 1 = supervisor, 2 = control rooms
  TimePoint due;                        // when to raise it if still unacknowledged
  std::vector<std::string> recipients;  // topics: "officer/<id>/", "control/<id>/"
};

// The next escalation of `alert` after `current_level` (0: none raised yet),
// or nullopt when there is none (info, an `unacknowledged` alert, level 2
// already raised).
//   Level 1: OfficerTopic(supervisor).  With no supervisor (feed alerts,
//     alerts not about one instrument) level 1 is skipped: the step returned
//     is level 2, due at raised_at + sla.
//   Level 2: the control/ topics among alert.recipients plus
//     control/<alert.extra["owning_control"]>/ when the alert carries it; if
//     that is none, every room of `fallback_control_rooms` (pass the
//     daemon's control-room list) so that somebody always acts.
std::optional<EscalationStep> NextEscalation(
    const Alert& alert, const std::string& supervisor, int current_level, TimePoint raised_at,
    const Policy& policy, const std::vector<std::string>& fallback_control_rooms = {});

// The `unacknowledged` alert about `about` at `level` to `recipients`: same
// severity, person, instrument, case and event time as `about`; carries
// `about_alert_id`, `about_kind` and `level`.
Alert MakeUnacknowledgedAlert(const Alert& about, int level,
                              const std::vector<std::string>& recipients);

// Checks an alert.resolve: `outcome` one of arrested, warned,
// attended_no_breach, false_alarm, in_custody, referred_to_court, no_action;
// no_action needs a note that is not blank.  BadInput naming "outcome" or
// "note" otherwise.
Status ValidateResolution(const std::string& outcome, const std::string& note);

}  // namespace bw
