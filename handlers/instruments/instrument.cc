#include "handlers/instruments/instrument.h"

#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "handlers/base/json_util.h"

namespace bw {
namespace {

// "500 m", "12.5 m".
std::string RoundedMetresText(double m) {
  std::string s = std::to_string(std::round(m * 10) / 10);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s + " m";
}

struct KindName {
  InstrumentKind kind;
  const char* name;
};
constexpr KindName kInstrumentKinds[] = {
    {InstrumentKind::kPoliceBail, "police_bail"},
    {InstrumentKind::kCourtBail, "court_bail"},
    {InstrumentKind::kDvpn, "dvpn"},
    {InstrumentKind::kDvpo, "dvpo"},
    {InstrumentKind::kDapo, "dapo"},
    {InstrumentKind::kNonMolestationOrder, "non_molestation_order"},
    {InstrumentKind::kRestrainingOrder, "restraining_order"},
    {InstrumentKind::kCommunityOrder, "community_order"},
    {InstrumentKind::kLicence, "licence"},
};

struct CondName {
  ConditionKind kind;
  const char* name;
};
constexpr CondName kConditionKinds[] = {
    {ConditionKind::kExclusionZone, "exclusion_zone"},
    {ConditionKind::kNotToAttend, "not_to_attend"},
    {ConditionKind::kNoContact, "no_contact"},
    {ConditionKind::kCurfew, "curfew"},
    {ConditionKind::kResidence, "residence"},
    {ConditionKind::kOther, "other"},
    {ConditionKind::kProximity, "proximity"},
};

Result<Place> DecodePlace(const boost::json::object& parent, const std::string& path) {
  auto obj = json::GetObject(parent, path, "place");
  if (!obj.ok()) return obj.status();
  std::string p = json::Join(path, "place");
  Place place;
  auto label = json::GetOptionalString(**obj, p, "label");
  if (!label.ok()) return label.status();
  place.label = label->value_or("");
  auto at_it = (*obj)->find("at");
  if (at_it == (*obj)->end()) return Status::BadInput(p + ".at", "required field is missing");
  auto at = json::ToPoint(at_it->value(), p + ".at");
  if (!at.ok()) return at.status();
  place.at = *at;
  auto radius = json::GetNumber(**obj, p, "radius_m");
  if (!radius.ok()) return radius.status();
  if (*radius <= 0 || *radius > 100000) {
    return Status::BadInput(p + ".radius_m", "must be > 0 and <= 100000 metres");
  }
  place.radius_m = *radius;
  return place;
}

// "HH:MM" -> minutes after midnight.
std::optional<int> ParseClock(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

Result<std::vector<CurfewWindow>> DecodeWindows(const boost::json::object& c,
                                                const std::string& path) {
  static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::vector<CurfewWindow> out;
  auto it = c.find("windows");
  std::string p = json::Join(path, "windows");
  if (it == c.end() || !it->value().is_array() || it->value().get_array().empty()) {
    return Status::BadInput(p, "must be a non-empty array of {days, start, end}");
  }
  const auto& arr = it->value().get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string wp = p + "[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) return Status::BadInput(wp, "must be an object");
    const auto& w = arr[i].get_object();
    CurfewWindow window;
    auto days = json::GetStringArray(w, wp, "days", true);
    if (!days.ok()) return days.status();
    if (days->empty()) return Status::BadInput(wp + ".days", "must name at least one day");
    for (size_t d = 0; d < days->size(); ++d) {
      bool found = false;
      for (unsigned k = 0; k < 7; ++k) {
        if ((*days)[d] == kDays[k]) {
          window.days.push_back(k);
          found = true;
        }
      }
      if (!found) {
        return Status::BadInput(wp + ".days[" + std::to_string(d) + "]",
                                "unknown day \"" + (*days)[d] + "\" (use mon..sun)");
      }
    }
    for (const char* key : {"start", "end"}) {
      auto s = json::GetString(w, wp, key);
      if (!s.ok()) return s.status();
      auto minutes = ParseClock(*s);
      if (!minutes) return Status::BadInput(json::Join(wp, key), "must be HH:MM (24-hour)");
      (std::string(key) == "start" ? window.start_min : window.end_min) = *minutes;
    }
    if (window.start_min == window.end_min) {
      return Status::BadInput(wp, "start and end are equal: the window would be empty");
    }
    out.push_back(std::move(window));
  }
  return out;
}

// The prefilter of a decoded condition (see FixPrefilter).  An inline zone's
// envelope is set where the zone is decoded; a curfew's time zone was checked.
void SetFixPrefilter(Condition* c) {
  using Kind = FixPrefilter::Kind;
  FixPrefilter& f = c->prefilter;
  switch (c->kind) {
    case ConditionKind::kExclusionZone:
      break;  // kEnvelope for an inline zone; a zone code is looked up per fix
    case ConditionKind::kNotToAttend:
    case ConditionKind::kCurfew:
      if (c->place) {
        f.kind = c->kind == ConditionKind::kNotToAttend ? Kind::kFarFrom : Kind::kAtHome;
        f.at = c->place->at;
        f.radius_m = c->place->radius_m;
      }
      break;
    case ConditionKind::kResidence:
    case ConditionKind::kNoContact:
    case ConditionKind::kOther:
      f.kind = Kind::kNever;
      break;
    case ConditionKind::kProximity:
      f.kind = Kind::kProximity;
      break;
  }
}

// An optional distance in metres, > 0 and <= 100000; `fallback` when absent or null.
Result<double> OptionalMetres(const boost::json::object& o, const std::string& path,
                              const char* key, double fallback) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  auto v = json::GetNumber(o, path, key);
  if (!v.ok()) return v.status();
  if (*v <= 0 || *v > 100000) {
    return Status::BadInput(json::Join(path, key), "must be > 0 and <= 100000 metres");
  }
  return *v;
}

Result<Condition> DecodeCondition(const boost::json::value& v, const std::string& path) {
  if (!v.is_object()) return Status::BadInput(path, "must be an object");
  const auto& o = v.get_object();
  Condition c;
  auto id = json::GetString(o, path, "condition_id");
  if (!id.ok()) return id.status();
  c.condition_id = *id;
  auto kind = json::GetString(o, path, "kind");
  if (!kind.ok()) return kind.status();
  bool known = false;
  for (const auto& k : kConditionKinds) {
    if (*kind == k.name) {
      c.kind = k.kind;
      known = true;
    }
  }
  if (!known) return Status::BadInput(path + ".kind", "unknown condition kind \"" + *kind + "\"");

  switch (c.kind) {
    case ConditionKind::kExclusionZone: {
      auto it = o.find("zone");
      if (it == o.end() || it->value().is_null()) {
        return Status::BadInput(path + ".zone", "required field is missing");
      }
      if (it->value().is_string()) {
        c.zone_code = std::string(it->value().get_string());
        if (c.zone_code.empty()) return Status::BadInput(path + ".zone", "must not be empty");
      } else if (it->value().is_object()) {
        auto geom = GeometryFromGeoJson(it->value(), path + ".zone");
        if (!geom.ok()) return geom.status();
        // Held at 1e-7 degree; the envelope is of what is matched, the rounded polygon.
        c.inline_zone.emplace(*geom);
        c.prefilter.kind = FixPrefilter::Kind::kEnvelope;
        c.prefilter.box = Envelope(c.inline_zone->Expand());
      } else {
        return Status::BadInput(path + ".zone",
                                "must be a GSS code or a GeoJSON Polygon/MultiPolygon");
      }
      break;
    }
    case ConditionKind::kNotToAttend:
    case ConditionKind::kResidence: {
      auto place = DecodePlace(o, path);
      if (!place.ok()) return place.status();
      c.place = *place;
      break;
    }
    case ConditionKind::kNoContact: {
      auto person = json::GetString(o, path, "person");
      if (!person.ok()) return person.status();
      c.person = *person;
      break;
    }
    case ConditionKind::kCurfew: {
      auto place = DecodePlace(o, path);
      if (!place.ok()) return place.status();
      c.place = *place;
      auto windows = DecodeWindows(o, path);
      if (!windows.ok()) return windows.status();
      c.windows = std::move(*windows);
      auto tz = json::GetOptionalString(o, path, "tz");
      if (!tz.ok()) return tz.status();
      c.tz = tz->value_or("Europe/London");
      try {
        (void)date::locate_zone(c.tz);
      } catch (const std::exception&) {
        return Status::BadInput(path + ".tz", "unknown time zone \"" + c.tz + "\"");
      }
      auto grace_it = o.find("grace_min");
      if (grace_it != o.end() && !grace_it->value().is_null()) {
        auto grace = json::GetInt(o, path, "grace_min");
        if (!grace.ok()) return grace.status();
        if (*grace < 0 || *grace > 720) {
          return Status::BadInput(path + ".grace_min", "must be between 0 and 720");
        }
        c.grace_min = *grace;
      }
      break;
    }
    case ConditionKind::kProximity: {
      auto person = json::GetString(o, path, "person");
      if (!person.ok()) return person.status();
      if (person->empty()) return Status::BadInput(path + ".person", "must not be empty");
      c.person = *person;
      auto radius = OptionalMetres(o, path, "radius_m", kDefaultProximityRadiusM);
      if (!radius.ok()) return radius.status();
      c.proximity_radius_m = *radius;
      // Absent: 1000 m, or radius_m when that is larger.
      auto warning = OptionalMetres(o, path, "warning_m",
                                    std::max(kDefaultProximityWarningM, c.proximity_radius_m));
      if (!warning.ok()) return warning.status();
      c.proximity_warning_m = *warning;
      if (c.proximity_warning_m < c.proximity_radius_m) {
        return Status::BadInput(path + ".warning_m",
                                "must be >= radius_m (" + RoundedMetresText(c.proximity_radius_m) +
                                    ")");
      }
      break;
    }
    case ConditionKind::kOther: {
      auto text = json::GetString(o, path, "text");
      if (!text.ok()) return text.status();
      c.text = *text;
      break;
    }
  }
  SetFixPrefilter(&c);
  return c;
}

}  // namespace

const char* InstrumentKindName(InstrumentKind kind) {
  for (const auto& k : kInstrumentKinds) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

const char* ConditionKindName(ConditionKind kind) {
  for (const auto& k : kConditionKinds) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

namespace {

void Mix(uint64_t* h, std::string_view bytes) {
  for (unsigned char c : bytes) *h = (*h ^ c) * 0x100000001b3ULL;
  *h = (*h ^ 0xff) * 0x100000001b3ULL;  // a separator, so that ("ab","c") != ("a","bc")
}

void MixJson(uint64_t* h, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      Mix(h, "n");
      break;
    case boost::json::kind::bool_:
      Mix(h, v.get_bool() ? "t" : "f");
      break;
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: {
      // By value, as boost::json compares numbers of one kind; the kind is mixed in too.
      Mix(h, v.is_double() ? "d" : v.is_int64() ? "i" : "u");
      Mix(h, boost::json::serialize(v));
      break;
    }
    case boost::json::kind::string:
      Mix(h, "s");
      Mix(h, v.get_string());
      break;
    case boost::json::kind::array:
      Mix(h, "[" + std::to_string(v.get_array().size()));
      for (const auto& e : v.get_array()) MixJson(h, e);
      break;
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(o.size());
      for (const auto& kv : o) members.push_back(&kv);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      Mix(h, "{" + std::to_string(members.size()));
      for (const auto* kv : members) {
        Mix(h, kv->key());
        MixJson(h, kv->value());
      }
      break;
    }
  }
}

}  // namespace

uint64_t JsonDigest(const boost::json::value& v) {
  uint64_t h = 0xcbf29ce484222325ULL;
  MixJson(&h, v);
  return h;
}

Result<Instrument> DecodeInstrument(const boost::json::object& o, const std::string& path) {
  Instrument ins;
  struct Req {
    const char* key;
    std::string* out;
  };
  for (Req r : {Req{"instrument_id", &ins.instrument_id}, Req{"subject", &ins.subject},
                Req{"oic", &ins.oic}, Req{"owning_control", &ins.owning_control}}) {
    auto s = json::GetString(o, path, r.key);
    if (!s.ok()) return s.status();
    *r.out = *s;
  }
  for (Req r : {Req{"case_ref", &ins.case_ref}, Req{"offence", &ins.offence},
                Req{"supervisor", &ins.supervisor}}) {
    auto s = json::GetOptionalString(o, path, r.key);
    if (!s.ok()) return s.status();
    *r.out = s->value_or("");
  }
  auto kind = json::GetString(o, path, "kind");
  if (!kind.ok()) return kind.status();
  bool known = false;
  for (const auto& k : kInstrumentKinds) {
    if (*kind == k.name) {
      ins.kind = k.kind;
      known = true;
    }
  }
  if (!known) {
    return Status::BadInput(json::Join(path, "kind"), "unknown instrument kind \"" + *kind + "\"");
  }
  auto protected_persons = json::GetStringArray(o, path, "protected_persons", false);
  if (!protected_persons.ok()) return protected_persons.status();
  ins.protected_persons = std::move(*protected_persons);
  auto contacts = json::GetStringArray(o, path, "safety_contacts", false);
  if (!contacts.ok()) return contacts.status();
  ins.safety_contacts = std::move(*contacts);
  auto from = json::GetTime(o, path, "valid_from");
  if (!from.ok()) return from.status();
  ins.valid_from = *from;
  auto until = json::GetOptionalTime(o, path, "valid_until");
  if (!until.ok()) return until.status();
  ins.valid_until = *until;
  if (ins.valid_until && *ins.valid_until <= ins.valid_from) {
    return Status::BadInput(json::Join(path, "valid_until"), "must be after valid_from");
  }

  auto conds = o.find("conditions");
  std::string cpath = json::Join(path, "conditions");
  if (conds == o.end() || !conds->value().is_array()) {
    return Status::BadInput(cpath, "must be an array of conditions");
  }
  std::set<std::string> ids;
  const auto& arr = conds->value().get_array();
  ins.conditions_digest = JsonDigest(conds->value());
  for (size_t i = 0; i < arr.size(); ++i) {
    auto c = DecodeCondition(arr[i], cpath + "[" + std::to_string(i) + "]");
    if (!c.ok()) return c.status();
    if (!ids.insert(c->condition_id).second) {
      return Status::BadInput(cpath + "[" + std::to_string(i) + "].condition_id",
                              "duplicate condition_id \"" + c->condition_id + "\"");
    }
    if (c->kind == ConditionKind::kProximity &&
        std::find(ins.protected_persons.begin(), ins.protected_persons.end(), c->person) ==
            ins.protected_persons.end()) {
      // The daemon finds the conditions protecting a person through protected_persons.
      return Status::BadInput(cpath + "[" + std::to_string(i) + "].person",
                              "\"" + c->person + "\" is not one of the instrument's protected_persons");
    }
    ins.conditions.push_back(std::move(*c));
  }
  auto risk = DecodeRisk(o, path);
  if (!risk.ok()) return risk.status();
  ins.risk = std::move(*risk);
  return ins;
}

}  // namespace bw
