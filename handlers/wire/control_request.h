// Control requests (protocol section 7): the decoder that turns a request's op
// frame and JSON body into a typed ControlRequest or a precise rejection.
//
// The decoder is a pure function: no sockets, no store, no clock.  It checks
// everything that can be checked without state — the body is a JSON object of
// bounded size, `officer_id` and `reason` are non-empty strings, the op is
// known, and each op's fields are present and of the right type (for
// `alert.resolve` also ValidateResolution).  A rejection is Status::BadInput
// naming the field ("officer_id", "op", "person_id", "at", ...) with a reason
// class (Status::reason()) of oversize, not_json, not_object, missing_field,
// wrong_type, out_of_range, bad_time or unknown_type; the daemon replies
// `bad_request` with it.  Lookups that need state (does the alert exist, is
// the area in a loaded zone set) stay with the daemon.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/wire/event.h"

namespace bw {

enum class ControlOp {
  kStatus,
  kConditionsPerson,
  kConditionsProtected,
  kConditionsLocation,
  kHistoryPerson,
  kAlertsSince,
  kAlertsOpen,
  kAlertAck,
  kAlertResolve,
  kEventSubmit,
};
// The wire name, e.g. "conditions.person".
const char* ControlOpName(ControlOp op);

// Who asked and why: every request must carry both (for the audit log).
struct ControlIdentity {
  std::string officer_id;
  std::string reason;
};

struct ControlRequest {
  ControlOp op = ControlOp::kStatus;
  ControlIdentity who;

  // Op-specific fields; which are set depends on `op`.
  std::string person_id;  // conditions.person, conditions.protected, history.person (required)
  std::optional<TimePoint> at_time;  // conditions.person/protected/location (optional)
  Location location;                 // conditions.location: `at` and/or `area`, at least one
  int64_t seq = 0;                   // alerts.since (required)
  std::string recipient;             // alerts.open: topic, "" = every open alert (optional)
  int64_t older_than_s = 0;          // alerts.open: 0 = no filter; at most a century (optional)
  std::string alert_id;              // alert.ack, alert.resolve (required)
  std::string outcome;               // alert.resolve (required, ValidateResolution)
  std::string note;                  // alert.resolve (optional; required for no_action)
  // alert.ack, alert.resolve, history.person (optional): the control room on whose behalf a
  // console user or an operator acts (alert_authority.h; a protected person's own record).
  std::string control_id;
  boost::json::object event;         // event.submit: the event, decoded later by the intake path
  // conditions.location, alerts.open: the page (optional).  `limit`: at most this many items, 1 to
  // kMaxPageLimit (kDefaultPageLimit when absent); `cursor`: the `next` of the previous page
  // ("" = the first page), opaque here: the op decodes it.
  int64_t limit = 0;
  std::string cursor;
};

// Paged replies (conditions.location, alerts.open; docs/control.md).
inline constexpr int64_t kDefaultPageLimit = 500;
inline constexpr int64_t kMaxPageLimit = 1000;

struct ControlDecodeOptions {
  size_t max_body_bytes = 4 * 65536;  // larger bodies are refused as oversize
};

// Decodes one request.  When `who` is given it receives the officer and reason
// as soon as both are known to be valid — also when a later check fails — so a
// refused request can still be audited with who asked and why.
Result<ControlRequest> DecodeControlRequest(std::string_view op, std::string_view body,
                                            const ControlDecodeOptions& options,
                                            ControlIdentity* who = nullptr);

}  // namespace bw
