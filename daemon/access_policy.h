// AccessPolicy: what an authenticated client (its ClientEntry) may do.  Pure functions; the
// daemon and the ZAP handler call them, docs/security.md ("Roles") states the same table.
//
//   socket (ZAP domain)   officer  control_room  feed                administrator
//   control               yes      yes           no                  yes
//   alerts                yes      yes           no                  yes
//   feed:<name>           no       no            if name in feeds    no
//   replay:<name>         no       no            if name in feeds    no
//
// Control requests: `officer_id` must be the authenticated identity unless the role may act for
// others (control_room, administrator).  event.submit (manual entry of events that can page
// officers) is for control rooms and administrators; so is history.person of a protected person
// (protocol 9.3, MaySeeProtectedPersonRecord).  Alerts: an officer sees
// officer/<identity>/, a control room control/<id>/ for each of its control_ids, an
// administrator everything.
//
// Thread-safety: pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/client_allowlist.h"

namespace bw {

// ZAP domains the daemon sets on its CURVE server sockets.
inline constexpr std::string_view kControlDomain = "control";
inline constexpr std::string_view kAlertsDomain = "alerts";
std::string FeedDomain(const std::string& feed);    // "feed:<name>"
std::string ReplayDomain(const std::string& feed);  // "replay:<name>"

// Whether the client may complete a handshake on the socket of `zap_domain`; when not, `*why`
// says so for the audit record.
bool MayConnect(const ClientEntry& client, std::string_view zap_domain, std::string* why);

// Whether the client may send `op` on the control socket with `officer_id` as the claimed
// officer.  `*acting_for` is set to officer_id when the client acts for someone else.
bool MayRequest(const ClientEntry& client, std::string_view op, std::string_view officer_id,
                std::string* acting_for, std::string* why);

// Whether a subscription to `topic` on the alert socket only ever matches topics the client may
// see (prefix matching: "" or "officer/" would match other people's alerts).
bool MaySubscribe(const ClientEntry& client, std::string_view topic);

// Whether an alert sent to `recipients` (topics) may be shown to the client (alerts.since,
// alerts.open).
bool MaySeeAlert(const ClientEntry& client, const std::vector<std::string>& recipients);

// The recipient topics an actor answers for when it acknowledges or resolves an alert
// (handlers/alerts/alert_authority.h decides with them).  `client` is the authenticated client
// (mode curve), or null in mode none, where nobody is authenticated and the claimed officer_id
// is taken at its word: "officer/<id>/" and "control/<id>/" (a control room's console user is
// named after its control room).  An officer answers for its own topic, a control room for its
// control_ids; a client acting for someone (`acting_for`, set by MayRequest) answers for them
// too.  An administrator answers for nobody but whom it acts for: it runs the system and is not
// in an alert's chain of command.  `control_id` (the request's optional field: the control room
// a console user acts for) adds "control/<control_id>/" where the requester may assert it: in
// mode none, and for an administrator key (the console, which checks its users' control rooms
// itself); a control-room key answers for its own control_ids only.
std::vector<std::string> ActorTopics(const ClientEntry* client, const std::string& officer_id,
                                     const std::string& acting_for,
                                     const std::string& control_id = "");
// Protocol 9.3: whether the client may read a protected person's own record (history.person of
// a person some instrument protects, which holds her device data): control rooms, and an
// administrator for itself or for a control room (`control_id` named: the console acting for a
// control-room user) — not an administrator key acting for anyone else (the console acting for
// an officer user), nor an officer.
bool MaySeeProtectedPersonRecord(const ClientEntry& client, const std::string& acting_for = "",
                                 const std::string& control_id = "");

}  // namespace bw
