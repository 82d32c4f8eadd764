// The protected person's location is theirs (protocol 9.3).  How alerts keep it
// so, in one place:
//
// An alert about the protected person's safety (proximity_breach,
// proximity_warning, victim_panic) is raised as two alerts, never one with
// mixed recipients:
//   - the officer copy ("copy": "officer"): to officers only (the OIC, the
//     safety contacts); it carries the distance between the two, the subject's
//     fix, and the protected person's id, never her position or area;
//   - the control copy ("copy": "control"): to control rooms only; it carries
//     the same plus her position under kProtectedPersonLocationKey.
// Her position and areas are held under that key and nowhere else: not in
// `location` (which is always the subject's fix, so that an `unacknowledged`
// alert about a control copy, which copies location and summary to the
// supervisor, carries none of hers), not in the summary, and the recipients of
// the officer copy name no control room of her area.  Every path that shows an
// alert to someone (live publication per recipient topic, alerts.since and
// alerts.open filtered by recipient, the console filtered the same way) thus
// gives her position to control rooms only; a query about the subject
// (history.person) shows alerts with RedactProtectedPersonLocation applied.
//
// Pure functions; thread-safe.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "handlers/alerts/alert.h"

namespace bw {

// The extra key of a control copy holding the protected person's location:
// {"person_id", "at": [lon, lat] (absent when unknown), "accuracy_m", "time", "areas"}.
inline constexpr char kProtectedPersonLocationKey[] = "protected_person_location";
// The extra key naming the copy: "officer" or "control".
inline constexpr char kAlertCopyKey[] = "copy";

// The protected person whose location `alert` carries, or "" when it carries none.
std::string ProtectedPersonLocated(const Alert& alert);
std::string ProtectedPersonLocated(const boost::json::object& payload);

// Removes the protected person's location from a payload (a query about the
// subject); true when there was one.  The rest of the alert is kept, marked
// "protected_person_location_withheld": true.
bool RedactProtectedPersonLocation(boost::json::object* payload);

// The distinct protected persons whose location the payloads in `alerts`
// carry (the audit row of a reply that discloses them).
std::vector<std::string> ProtectedPersonsLocated(const boost::json::array& alerts);

}  // namespace bw
