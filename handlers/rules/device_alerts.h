// Alerts about monitoring devices (protocol sections 4.1, 5.2, 5.4), shared by
// the device handler (tag.strap_tamper / battery / signal / home_unit) and the
// tag.position handler.
//
// Pure functions of the handler context and the event; thread-safety as for
// handlers (read-only use of a state nobody is changing).
#pragma once

#include "handlers/engine/event_handler.h"

namespace bw {

// The unmatched_tag_event alert (severity medium) for a tag.* event of a person
// with no instrument in force at the event time, or a victim.* event of a
// person no instrument in force protects: monitoring data with no conditions is
// a data gap.  Goes to the control room(s) of the event's area
// when the event has a location that resolves to one, else to every room in
// ctx.control_rooms.  Carries `event_type` and `device_id` (and `state` /
// `level` when the event has one); in_custody is set when the person was in
// custody at the event time (informational only).
Alert MakeUnmatchedTagAlert(const HandlerContext& ctx, const Event& e);

// Adds MakeUnmatchedTagAlert to `out` unless an unmatched-data episode for the
// person is already open (another such event within exit_debounce_s), so a GPS
// stream of a person with no conditions raises one alert per run, not one per
// fix.  Records the episode as a state mutation.
void RaiseUnmatched(const HandlerContext& ctx, const Event& e, Outcome* out);

}  // namespace bw
