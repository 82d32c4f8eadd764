// Who may acknowledge an alert or record its outcome (protocol section 6.4; issue 12, defect 3).
//
// Acknowledging stops an alert's escalation and resolving closes it, so neither is open to
// everyone who can read the alert's id: only
//   - a recipient of the alert (its officer or control-room topic is among the recipients),
//   - the supervisor of the alert's instrument (the person its escalation goes to first), or
//   - a control room that received it, including the owning control room and the control room
//     of the area once the escalation has reached them (level 2, spec 6.4).
// Everybody else is refused, and the refusal is audited by the control envelope.
//
// The actor is described by topics: the topics an actor answers for ("officer/<id>/",
// "control/<id>/"; see daemon/security.h ActorTopics for how they are derived from the
// authenticated identity, or from the claimed officer_id in security mode "none").
// Pure functions; thread-safety as for handlers.
#pragma once

#include <string>
#include <vector>

#include "handlers/alerts/alert.h"

namespace bw {

// What the rule needs to know about an alert besides its payload.
struct AlertChangeContext {
  int escalation_level = 0;    // steps of escalation taken so far (AlertState)
  std::string supervisor;      // of the alert's instrument (latest version), if any
  std::string owning_control;  // of the alert's instrument (latest version), if any
};

// The topics entitled to ack or resolve `alert`, without duplicates.
std::vector<std::string> TopicsMayChangeAlert(const Alert& alert, const AlertChangeContext& ctx);

// True when one of `actor_topics` is among TopicsMayChangeAlert(alert, ctx).
bool MayChangeAlert(const Alert& alert, const AlertChangeContext& ctx,
                    const std::vector<std::string>& actor_topics);

}  // namespace bw
