#include "handlers/wire/event.h"

#include <boost/json.hpp>

#include "handlers/base/json_util.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

struct TypeInfo {
  EventType type;
  const char* name;
  const char* feed;
};
constexpr TypeInfo kTypes[] = {
    {EventType::kHeartbeat, "heartbeat", ""},
    {EventType::kInstrumentGranted, "instrument.granted", "orders"},
    {EventType::kInstrumentVaried, "instrument.varied", "orders"},
    {EventType::kInstrumentEnded, "instrument.ended", "orders"},
    {EventType::kTagPosition, "tag.position", "tag"},
    {EventType::kTagCurfewViolation, "tag.curfew_violation", "tag"},
    {EventType::kTagStrapTamper, "tag.strap_tamper", "tag"},
    {EventType::kTagBattery, "tag.battery", "tag"},
    {EventType::kTagSignal, "tag.signal", "tag"},
    {EventType::kTagHomeUnit, "tag.home_unit", "tag"},
    {EventType::kCustodyArrested, "custody.arrested", "custody"},
    {EventType::kCustodyReleased, "custody.released", "custody"},
    {EventType::kCheckPerson, "check.person", "check"},
    {EventType::kCheckIncident, "check.incident", "check"},
    {EventType::kVictimPosition, "victim.position", "tag"},
    {EventType::kVictimPanic, "victim.panic", "tag"},
};

Status OneOf(const std::string& value, std::initializer_list<const char*> allowed,
             const std::string& field) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return Status::Ok();
    if (!list.empty()) list += ", ";
    list += a;
  }
  return Status::BadInput(field, "\"" + value + "\" is not one of: " + list, "out_of_range");
}

#define BW_ASSIGN_STR(target, obj, key)        \
  do {                                         \
    auto bw_r = json::GetString(obj, "", key); \
    if (!bw_r.ok()) return bw_r.status();      \
    target = std::move(*bw_r);                 \
  } while (0)

#define BW_ASSIGN_OPT_STR(target, obj, key)            \
  do {                                                 \
    auto bw_r = json::GetOptionalString(obj, "", key); \
    if (!bw_r.ok()) return bw_r.status();              \
    target = bw_r->value_or("");                       \
  } while (0)

// `at` and/or `area`; at least one required.
Status DecodeLocation(const boost::json::object& o, Location* loc) {
  auto at = o.find("at");
  if (at != o.end() && !at->value().is_null()) {
    auto p = json::ToPoint(at->value(), "at");
    if (!p.ok()) return p.status();
    loc->at = *p;
  }
  auto area = json::GetOptionalString(o, "", "area");
  if (!area.ok()) return area.status();
  loc->area = area->value_or("");
  if (!loc->at && loc->area.empty()) {
    return Status::BadInput("at", "one of \"at\" ([lon, lat]) or \"area\" (GSS code) is required",
                            "missing_field");
  }
  return Status::Ok();
}

// `accuracy_m`: metres, 0 to 100000.
Result<double> DecodeAccuracy(const boost::json::object& o) {
  auto acc = json::GetNumber(o, "", "accuracy_m");
  if (!acc.ok()) return acc.status();
  if (*acc < 0 || *acc > 100000) {
    return Status::BadInput("accuracy_m", "must be between 0 and 100000", "out_of_range");
  }
  return *acc;
}

// A GPS fix (tag.position, victim.position): person_id, device_id, at, accuracy_m.
Status DecodeFix(const boost::json::object& o, Event* e) {
  BW_ASSIGN_STR(e->person_id, o, "person_id");
  BW_ASSIGN_STR(e->device_id, o, "device_id");
  auto at = o.find("at");
  if (at == o.end()) return Status::BadInput("at", "required field is missing", "missing_field");
  auto p = json::ToPoint(at->value(), "at");
  if (!p.ok()) return p.status();
  e->location.at = *p;
  auto acc = DecodeAccuracy(o);
  if (!acc.ok()) return acc.status();
  e->accuracy_m = *acc;
  return Status::Ok();
}

Status DecodePayload(const boost::json::object& o, Event* e) {
  switch (e->type) {
    case EventType::kHeartbeat:
      return Status::Ok();
    case EventType::kInstrumentGranted:
    case EventType::kInstrumentVaried: {
      auto obj = json::GetObject(o, "", "instrument");
      if (!obj.ok()) return obj.status();
      auto ins = DecodeInstrument(**obj, "instrument");
      if (!ins.ok()) return ins.status();
      e->instrument = std::move(*ins);
      e->instrument_raw = boost::json::serialize(**obj);
      return Status::Ok();
    }
    case EventType::kInstrumentEnded: {
      BW_ASSIGN_STR(e->instrument_id, o, "instrument_id");
      BW_ASSIGN_STR(e->end_reason, o, "reason");
      return OneOf(e->end_reason,
                   {"charged", "nfa", "discharged", "expired", "revoked", "superseded"}, "reason");
    }
    case EventType::kTagPosition:
    case EventType::kVictimPosition:
      return DecodeFix(o, e);
    case EventType::kVictimPanic: {
      // person_id, device_id, optional at (with an optional accuracy_m).
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      auto at = o.find("at");
      if (at != o.end() && !at->value().is_null()) {
        auto p = json::ToPoint(at->value(), "at");
        if (!p.ok()) return p.status();
        e->location.at = *p;
        if (auto acc_it = o.find("accuracy_m"); acc_it != o.end() && !acc_it->value().is_null()) {
          auto acc = DecodeAccuracy(o);
          if (!acc.ok()) return acc.status();
          e->accuracy_m = *acc;
        }
      }
      return Status::Ok();
    }
    case EventType::kTagCurfewViolation:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      BW_ASSIGN_STR(e->state, o, "state");
      return OneOf(e->state, {"start", "end"}, "state");
    case EventType::kTagStrapTamper:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      return Status::Ok();
    case EventType::kTagBattery:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      BW_ASSIGN_STR(e->level, o, "level");
      return OneOf(e->level, {"low", "critical", "dead"}, "level");
    case EventType::kTagSignal:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      BW_ASSIGN_STR(e->state, o, "state");
      return OneOf(e->state, {"lost", "restored"}, "state");
    case EventType::kTagHomeUnit:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->device_id, o, "device_id");
      BW_ASSIGN_STR(e->state, o, "state");
      return OneOf(e->state, {"power_loss", "tamper", "moved", "restored"}, "state");
    case EventType::kCustodyArrested: {
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->arresting_officer, o, "arresting_officer");
      BW_ASSIGN_STR(e->arrest_reason, o, "reason");
      BW_ASSIGN_OPT_STR(e->instrument_id, o, "instrument_id");
      BW_ASSIGN_OPT_STR(e->custody_suite, o, "custody_suite");
      auto at = o.find("at");
      if (at != o.end() && !at->value().is_null()) {
        auto p = json::ToPoint(at->value(), "at");
        if (!p.ok()) return p.status();
        e->location.at = *p;
      }
      BW_ASSIGN_OPT_STR(e->location.area, o, "area");
      return OneOf(e->arrest_reason, {"breach", "offence"}, "reason");
    }
    case EventType::kCustodyReleased:
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->outcome, o, "outcome");
      BW_ASSIGN_OPT_STR(e->instrument_id, o, "instrument_id");
      return OneOf(e->outcome,
                   {"rebailed", "charged_bailed", "court_bailed", "remanded", "nfa",
                    "released_under_investigation"},
                   "outcome");
    case EventType::kCheckPerson: {
      BW_ASSIGN_STR(e->person_id, o, "person_id");
      BW_ASSIGN_STR(e->officer_id, o, "officer_id");
      BW_ASSIGN_OPT_STR(e->check_reason, o, "reason");
      return DecodeLocation(o, &e->location);
    }
    case EventType::kCheckIncident: {
      BW_ASSIGN_STR(e->incident_ref, o, "incident_ref");
      BW_ASSIGN_OPT_STR(e->officer_id, o, "officer_id");
      BW_ASSIGN_OPT_STR(e->summary, o, "summary");
      auto persons = json::GetStringArray(o, "", "persons", true);
      if (!persons.ok()) return persons.status();
      if (persons->empty()) {
        return Status::BadInput("persons", "must name at least one person", "out_of_range");
      }
      e->persons = std::move(*persons);
      return DecodeLocation(o, &e->location);
    }
  }
  return Status::Internal("unhandled event type");
}

// RFC 3629 UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

#undef BW_ASSIGN_STR
#undef BW_ASSIGN_OPT_STR

}  // namespace

const char* EventTypeName(EventType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

const char* FeedOfEventType(EventType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.feed;
  }
  return "";
}

Result<Event> DecodeEventValue(const boost::json::value& value, const DecodeOptions& options) {
  if (!value.is_object()) {
    return Status::BadInput("", "message must be a JSON object", "not_object");
  }
  const auto& o = value.get_object();
  Event e;
  auto id = json::GetString(o, "", "id");
  if (!id.ok()) return id.status();
  e.id = std::move(*id);
  auto source = json::GetString(o, "", "source");
  if (!source.ok()) return source.status();
  e.source = std::move(*source);

  auto seq_it = o.find("seq");
  if (seq_it == o.end() || seq_it->value().is_null()) {
    if (options.require_seq) {
      return Status::BadInput("seq", "required field is missing", "missing_field");
    }
  } else {
    auto seq = json::GetInt(o, "", "seq");
    if (!seq.ok()) return seq.status();
    if (*seq < 1) return Status::BadInput("seq", "must be an integer >= 1", "out_of_range");
    e.seq = *seq;
  }

  auto type = json::GetString(o, "", "type");
  if (!type.ok()) return type.status();
  bool known = false;
  for (const auto& t : kTypes) {
    if (*type == t.name) {
      e.type = t.type;
      known = true;
    }
  }
  if (!known)
    return Status::BadInput("type", "unknown event type \"" + *type + "\"", "unknown_type");

  auto time = json::GetTime(o, "", "time");
  if (!time.ok()) return time.status();
  e.time = *time;
  if (e.time > options.now + std::chrono::seconds(options.future_skew_s)) {
    return Status::BadInput(
        "time",
        "is more than " + std::to_string(options.future_skew_s) + " s ahead of the daemon's clock",
        "future_time");
  }
  if (e.time < options.earliest_time) {
    return Status::BadInput("time",
                            "is before " + FormatRfc3339(options.earliest_time) +
                                " (policy.earliest_event_year): no plausible event is that old",
                            "too_old");
  }
  Status s = DecodePayload(o, &e);
  if (!s.ok()) return s;
  return e;
}

Result<Event> DecodeEvent(std::string_view bytes, const DecodeOptions& options) {
  if (bytes.size() > options.max_message_bytes) {
    return Status::BadInput("",
                            "message of " + std::to_string(bytes.size()) +
                                " bytes exceeds max_message_bytes (" +
                                std::to_string(options.max_message_bytes) + ")",
                            "oversize");
  }
  boost::json::error_code ec;
  boost::json::parse_options po;
  po.max_depth = 64;
  boost::json::value v = boost::json::parse(bytes, ec, {}, po);
  if (ec) {
    if (!IsValidUtf8(bytes)) {
      return Status::BadInput("", "message is not valid UTF-8", "not_utf8");
    }
    return Status::BadInput("", "not valid JSON: " + ec.message(), "not_json");
  }
  return DecodeEventValue(v, options);
}

}  // namespace bw
