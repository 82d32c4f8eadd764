#include "handlers/engine.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "handlers/time_util.h"

namespace bw {

const char* InstrumentChangeKindName(InstrumentChange::Kind kind) {
  switch (kind) {
    case InstrumentChange::Kind::kGranted:
      return "granted";
    case InstrumentChange::Kind::kVaried:
      return "varied";
    case InstrumentChange::Kind::kEnded:
      return "ended";
  }
  return "unknown";
}

Engine::Engine(const Clock& clock, std::shared_ptr<const ZoneIndex> zones, Policy policy)
    : clock_(clock), zones_(std::move(zones)), policy_(policy) {}

void Engine::Reset() {
  versions_.clear();
  by_subject_.clear();
}

void Engine::Restore(const InstrumentChange& c) {
  auto& versions = versions_[c.instrument_id];
  Version v{c.effective, c.instrument, c.end_reason};
  // Keep versions ordered by effective time (stable for equal times).
  auto pos = std::upper_bound(versions.begin(), versions.end(), v.effective,
                              [](TimePoint t, const Version& x) { return t < x.effective; });
  versions.insert(pos, std::move(v));
  if (c.instrument) {
    auto& ids = by_subject_[c.instrument->subject];
    if (std::find(ids.begin(), ids.end(), c.instrument_id) == ids.end()) {
      ids.push_back(c.instrument_id);
    }
  }
}

void Engine::Apply(const Outcome& outcome) {
  for (const auto& c : outcome.changes) Restore(c);
}

const std::vector<Engine::Version>* Engine::VersionsOf(const std::string& id) const {
  auto it = versions_.find(id);
  return it == versions_.end() ? nullptr : &it->second;
}

std::shared_ptr<const Instrument> Engine::VersionAt(const std::vector<Version>& versions,
                                                    TimePoint t) const {
  const Version* current = nullptr;
  for (const auto& v : versions) {
    if (v.effective <= t) current = &v;
  }
  if (current == nullptr || !current->instrument) return nullptr;
  const auto& ins = current->instrument;
  if (t < ins->valid_from) return nullptr;
  if (ins->valid_until && t >= *ins->valid_until) return nullptr;
  return ins;
}

std::vector<std::shared_ptr<const Instrument>> Engine::InForce(const std::string& person,
                                                               TimePoint t) const {
  std::vector<std::shared_ptr<const Instrument>> out;
  auto it = by_subject_.find(person);
  if (it == by_subject_.end()) return out;
  for (const auto& id : it->second) {
    const auto* versions = VersionsOf(id);
    if (versions == nullptr) continue;
    // The subject can change between versions; only count the version at t.
    auto ins = VersionAt(*versions, t);
    if (ins && ins->subject == person) out.push_back(std::move(ins));
  }
  return out;
}

std::vector<std::string> Engine::MissingZoneCodes(const ZoneIndex& zones) const {
  std::set<std::string> missing;
  for (const auto& [id, versions] : versions_) {
    for (const auto& v : versions) {
      if (!v.instrument) continue;
      for (const auto& c : v.instrument->conditions) {
        if (!c.zone_code.empty() && zones.Find(c.zone_code) == nullptr) missing.insert(c.zone_code);
      }
    }
  }
  return {missing.begin(), missing.end()};
}

Status Engine::ValidateZones(const Instrument& ins) const {
  for (size_t i = 0; i < ins.conditions.size(); ++i) {
    const auto& c = ins.conditions[i];
    if (c.kind == ConditionKind::kExclusionZone && !c.zone_code.empty() &&
        zones_->Find(c.zone_code) == nullptr) {
      return Status::BadInput(
          "instrument.conditions[" + std::to_string(i) + "].zone",
          "unknown zone code \"" + c.zone_code + "\" (not in any loaded zone set)", "unknown_code");
    }
  }
  return Status::Ok();
}

void Engine::ResolveAreas(const Location& loc, std::vector<std::string>* all_areas,
                          std::vector<std::string>* control_areas) const {
  const std::string control_set = zones_->zones().empty() ? "" : zones_->zones().front().zone_set;
  auto add = [](std::vector<std::string>* v, const std::string& s) {
    if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
  };
  if (loc.at) {
    for (const Zone* z : zones_->ZonesContaining(*loc.at)) {
      add(all_areas, z->code);
      if (z->zone_set == control_set) add(control_areas, z->code);
    }
  }
  if (!loc.area.empty()) {
    add(all_areas, loc.area);
    const Zone* z = zones_->Find(loc.area);
    if (z == nullptr || z->zone_set == control_set) add(control_areas, loc.area);
  }
}

void Engine::FillCommon(const Event& e, Alert* a) const {
  a->event_time = e.time;
  a->late = e.time < clock_.Now() - std::chrono::seconds(policy_.late_after_s);
  a->caused_by_source = e.source;
  a->caused_by_id = e.id;
  a->location_at = e.location.at;
}

Result<Outcome> Engine::Decide(const Event& e) const {
  switch (e.type) {
    case EventType::kInstrumentGranted:
    case EventType::kInstrumentVaried:
    case EventType::kInstrumentEnded:
      return DecideInstrument(e);
    case EventType::kCheckPerson:
      return DecideCheckPerson(e);
    case EventType::kHeartbeat: {
      Outcome o;
      o.note = "heartbeat";
      return o;
    }
    default: {
      Outcome o;
      o.note = std::string("stored; ") + EventTypeName(e.type) +
               " matching is not implemented in this version";
      return o;
    }
  }
}

Result<Outcome> Engine::DecideInstrument(const Event& e) const {
  Outcome o;
  InstrumentChange c;
  c.effective = e.time;
  if (e.type == EventType::kInstrumentEnded) {
    const auto* versions = VersionsOf(e.instrument_id);
    if (versions == nullptr) {
      return Status::BadInput("instrument_id",
                              "no instrument \"" + e.instrument_id + "\" has been granted",
                              "not_found");
    }
    c.kind = InstrumentChange::Kind::kEnded;
    c.instrument_id = e.instrument_id;
    c.end_reason = e.end_reason;
    o.note = "instrument " + e.instrument_id + " ended (" + e.end_reason + ")";
    o.changes.push_back(std::move(c));
    return o;
  }
  const Instrument& ins = *e.instrument;
  Status zs = ValidateZones(ins);
  if (!zs.ok()) return zs;
  const auto* versions = VersionsOf(ins.instrument_id);
  if (e.type == EventType::kInstrumentGranted) {
    if (versions != nullptr) {
      return Status::BadInput("instrument.instrument_id",
                              "instrument \"" + ins.instrument_id +
                                  "\" was already granted; send instrument.varied to change it",
                              "conflict");
    }
    c.kind = InstrumentChange::Kind::kGranted;
    // A grant recorded after it took effect applies from valid_from.
    c.effective = std::min(e.time, ins.valid_from);
    o.note = "instrument " + ins.instrument_id + " granted";
  } else {
    if (versions == nullptr) {
      return Status::BadInput("instrument.instrument_id",
                              "no instrument \"" + ins.instrument_id + "\" has been granted",
                              "not_found");
    }
    c.kind = InstrumentChange::Kind::kVaried;
    o.note = "instrument " + ins.instrument_id + " varied (version " +
             std::to_string(versions->size() + 1) + ")";
  }
  c.instrument_id = ins.instrument_id;
  c.instrument = std::make_shared<const Instrument>(ins);
  o.changes.push_back(std::move(c));
  return o;
}

namespace {

std::string ZoneLabel(const ZoneIndex& zones, const std::string& code) {
  const Zone* z = zones.Find(code);
  if (z == nullptr || z->name.empty() || z->name == code) return code;
  return code + " (" + z->name + ")";
}

std::string RoundMetres(double m) {
  return std::to_string(static_cast<long>(std::lround(m))) + " m";
}

}  // namespace

Result<Outcome> Engine::DecideCheckPerson(const Event& e) const {
  Outcome o;
  std::vector<std::string> areas, control_areas;
  ResolveAreas(e.location, &areas, &control_areas);
  auto in_force = InForce(e.person_id, e.time);

  boost::json::array instruments_json;
  boost::json::array breached_ids;
  boost::json::array breached_detail;
  std::vector<std::string> breach_texts;
  for (const auto& ins : in_force) {
    instruments_json.push_back(ins->raw);
    for (const auto& c : ins->conditions) {
      Alert a;
      bool breach = false;
      std::string where;
      if (c.kind == ConditionKind::kExclusionZone) {
        const GeoMultiPolygon* geom = nullptr;
        if (c.inline_zone) {
          geom = &*c.inline_zone;
        } else if (const Zone* z = zones_->Find(c.zone_code)) {
          geom = &z->geometry;
        }
        if (e.location.at && geom != nullptr && Covers(*geom, *e.location.at)) {
          breach = true;
          double inside = DistanceToBoundaryMeters(*geom, *e.location.at);
          a.extra["distance_inside_m"] = std::lround(inside);
          where = c.zone_code.empty() ? std::string("an excluded area")
                                      : ZoneLabel(*zones_, c.zone_code);
          where += ", " + RoundMetres(inside) + " inside the boundary";
        } else if (!c.zone_code.empty() && !e.location.area.empty() &&
                   e.location.area == c.zone_code) {
          breach = true;
          where = ZoneLabel(*zones_, c.zone_code);
        }
        if (breach) {
          a.kind = "exclusion_zone_breach";
          a.summary = e.person_id + " is inside " + where + ", excluded by " + ins->instrument_id;
        }
      } else if (c.kind == ConditionKind::kNotToAttend && e.location.at && c.place) {
        double d = GeodesicDistanceMeters(*e.location.at, c.place->at);
        if (d <= c.place->radius_m) {
          breach = true;
          a.kind = "address_breach";
          a.extra["distance_m"] = std::lround(d);
          a.summary =
              e.person_id + " is " + RoundMetres(d) + " from " +
              (c.place->label.empty() ? std::string("a protected address") : c.place->label) +
              " (not to attend within " + RoundMetres(c.place->radius_m) + "), " +
              ins->instrument_id;
        }
      }
      if (!breach) continue;
      a.severity = Severity::kCritical;
      a.person_id = e.person_id;
      a.instrument_id = ins->instrument_id;
      a.condition_id = c.condition_id;
      a.case_ref = ins->case_ref;
      a.oic = ins->oic;
      FillCommon(e, &a);
      a.location_areas = areas;
      AddRecipient(&a, OfficerTopic(e.officer_id));
      AddRecipient(&a, OfficerTopic(ins->oic));
      for (const auto& area : control_areas) AddRecipient(&a, ControlTopic(area));
      AddRecipient(&a, ControlTopic(ins->owning_control));
      a.extra["check_officer"] = e.officer_id;
      breached_ids.emplace_back(c.condition_id);
      breached_detail.push_back({{"instrument_id", ins->instrument_id},
                                 {"condition_id", c.condition_id},
                                 {"kind", a.kind}});
      breach_texts.push_back(c.condition_id + " " + ConditionKindName(c.kind) + " of " +
                             ins->instrument_id);
      o.alerts.push_back(std::move(a));
    }
  }

  // The officer on the street always learns the conditions in force.
  Alert r;
  r.kind = "check_result";
  r.severity = Severity::kInfo;
  r.person_id = e.person_id;
  FillCommon(e, &r);
  r.location_areas = areas;
  AddRecipient(&r, OfficerTopic(e.officer_id));
  size_t n_conditions = 0;
  for (const auto& ins : in_force) n_conditions += ins->conditions.size();
  if (in_force.empty()) {
    r.summary = e.person_id + " has no instrument in force at the time of the check";
  } else {
    r.summary = e.person_id + " has " + std::to_string(in_force.size()) + " instrument" +
                (in_force.size() == 1 ? "" : "s") + " in force with " +
                std::to_string(n_conditions) + " condition" + (n_conditions == 1 ? "" : "s");
    if (breach_texts.empty()) {
      r.summary += "; this check breaches none of them";
    } else {
      r.summary += "; THIS CHECK BREACHES: ";
      for (size_t i = 0; i < breach_texts.size(); ++i) {
        r.summary += (i ? ", " : "") + breach_texts[i];
      }
    }
  }
  r.extra["instruments"] = std::move(instruments_json);
  r.extra["breached"] = std::move(breached_ids);
  r.extra["breached_conditions"] = std::move(breached_detail);
  o.alerts.push_back(std::move(r));
  o.note = "check of " + e.person_id + ": " + std::to_string(in_force.size()) +
           " instrument(s) in force, " + std::to_string(o.alerts.size() - 1) + " breach(es)";
  return o;
}

}  // namespace bw
