// Inbound events (spec sections 2 and 4): the typed form of a feed message,
// and the decoder that turns raw bytes into one or a precise rejection.
//
// The decoder is a pure function: it never touches sockets or the store, and
// every rejection names the field and a reason class (Status::reason()), so the
// daemon can dead-letter it.  Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"
#include "handlers/instruments/instrument.h"

namespace bw {

enum class EventType {
  kHeartbeat,
  kInstrumentGranted,
  kInstrumentVaried,
  kInstrumentEnded,
  kTagPosition,
  kTagCurfewViolation,
  kTagStrapTamper,
  kTagBattery,
  kTagSignal,
  kTagHomeUnit,
  kCustodyArrested,
  kCustodyReleased,
  kCheckPerson,
  kCheckIncident,
  // The protected person's own device (protocol 9.3), on the tag feed.
  kVictimPosition,
  kVictimPanic,
};
const char* EventTypeName(EventType type);
// The feed ("orders", "tag", "custody", "check") that carries this type;
// heartbeats belong to every feed and return "".
const char* FeedOfEventType(EventType type);

// Where something happened: a point, a GSS area code, or both.
struct Location {
  std::optional<GeoPoint> at;
  std::string area;
};

struct Event {
  // Envelope.
  std::string id;
  std::string source;
  int64_t seq = 0;  // 0 when absent (allowed only on the control socket)
  EventType type = EventType::kHeartbeat;
  TimePoint time;

  // Payload; which fields are set depends on `type` (spec section 4).
  std::string person_id;  // victim.*: the protected person
  std::string device_id;
  double accuracy_m = 0;  // tag.position, victim.position; victim.panic when it has `at`
  std::string state;  // curfew_violation, signal, home_unit
  std::string level;  // battery
  Location location;
  std::string officer_id;                // check.person, check.incident
  std::string check_reason;              // check.person "reason"
  std::string arresting_officer;         // custody.arrested
  std::string arrest_reason;             // custody.arrested "reason": breach | offence
  std::string instrument_id;             // custody.*, instrument.ended
  std::string custody_suite;             // custody.arrested
  std::string outcome;                   // custody.released
  std::string incident_ref;              // check.incident
  std::vector<std::string> persons;      // check.incident
  std::string summary;                   // check.incident
  std::optional<Instrument> instrument;  // instrument.granted / varied
  std::string instrument_raw;            // the same, its object as received (serialized)
  std::string end_reason;                // instrument.ended
};

struct DecodeOptions {
  size_t max_message_bytes = 65536;
  bool require_seq = true;  // feeds must carry seq; the control socket need not
  TimePoint now;            // for the future-skew check
  int64_t future_skew_s = 300;
  // Events dated before this are implausible (year 0001, the Unix epoch: a sender's unset clock or
  // field) and rejected as out_of_range; TimePoint::min() accepts any (replay of what is stored).
  TimePoint earliest_time = TimePoint::min();
};

// Decodes one JSON message.  On failure the Status is BadInput with field,
// message and reason() one of: oversize, not_json, not_object, missing_field,
// wrong_type, unknown_type, out_of_range, bad_time, future_time, too_old, invalid.
Result<Event> DecodeEvent(std::string_view bytes, const DecodeOptions& options);

// As DecodeEvent, for an already parsed value (replay batches, event.submit).
Result<Event> DecodeEventValue(const boost::json::value& value, const DecodeOptions& options);

}  // namespace bw
