// The risk step (protocol 9.2): applied by Engine::Decide to every alert of a
// decided outcome, after its handler, so that no rule has to know about risk.
//
// An alert about an instrument (alert.instrument_id; its version in force at
// the alert's event time, else its latest) whose case carries a `risk` carries
// that object as given and `high_risk` (IsHighRisk).  When the case is high risk
// and the alert's kind is RaisedForHighRisk:
//   - severity one step up: medium -> high, high -> critical (info stays info;
//     an alert inhibited by custody keeps info and has the severity it would
//     have had, breach_severity / original_severity, raised instead);
//   - to the instrument's owning_control whatever the severity;
//   - critical: at once also to its safety_contacts and to the control rooms of
//     the area where it happened (as for any critical breach, spec 6.3);
//   - its acknowledgement deadline is ack_sla_high_risk_s (AckSlaSeconds reads
//     `high_risk` from the alert, so a stored alert keeps it after a restart).
// A check_result carries `high_risk` when any instrument in force is high risk
// (each instrument object in it carries its own `risk` as received).
//
// Pure functions; thread-safety as for handlers.
#pragma once

#include "handlers/alerts/alert.h"
#include "handlers/engine/event_handler.h"

namespace bw {

// The kinds raised for a high-risk case: every breach of a condition
// (ConditionBreachKinds), tag_tamper, tag_signal_lost and custody_release.  A
// new kind about the subject's danger to the protected person (proximity) is
// added here.
bool RaisedForHighRisk(AlertKind kind);

// medium -> high, high -> critical; critical and info unchanged.
Severity OneStepUp(Severity s);

// Applies the risk of `a`'s instrument to `a` (see the file comment).
void ApplyRisk(const HandlerContext& ctx, Alert* a);

}  // namespace bw
