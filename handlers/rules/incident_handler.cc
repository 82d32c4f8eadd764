// check.incident (protocol sections 4.3, 5.1, 6.3): an incident involving
// these people at a place.  For each person named, every instrument in force
// at the incident's time is matched:
//   exclusion_zone  incident location inside the zone      exclusion_zone_breach
//   not_to_attend   incident point within radius_m         address_breach
//   no_contact      the protected person named by the
//                   condition is also in `persons`          no_contact_breach
// all critical, to the OIC, the attending officer (if any), the control rooms
// of the area and the owning control room.  One alert per breached condition
// per incident (an incident is one observation, so there are no episodes);
// each counts towards repeat breaches.  Curfews are not judged from incidents
// (an incident says where someone was, not that they were absent from home
// at a window's start; GPS fixes and the home unit cover curfews).  No
// check_result is sent: that answers a check.person only.
//
// Stateless; nothing here changes state except CountBreach's mutations.
#include <algorithm>

#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

class IncidentHandler final : public EventHandler {
 public:
  const char* name() const override { return "check.incident"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* out) const override {
    std::vector<std::string> areas, control_areas;
    ResolveAreas(ctx.zones, e.location, &areas, &control_areas);

    std::vector<std::string> persons;  // as listed, without repeats
    for (const auto& p : e.persons) {
      if (std::find(persons.begin(), persons.end(), p) == persons.end()) persons.push_back(p);
    }

    int with_instruments = 0, breaches = 0;
    for (const auto& person : persons) {
      auto in_force = ctx.state.instruments.SubjectInForce(person, e.time);
      if (!in_force.empty()) ++with_instruments;
      for (const auto& ins : in_force) {
        for (const auto& c : ins->conditions) {
          Alert a;
          if (!Breaches(ctx, e, person, persons, *ins, c, &a)) continue;
          a.severity = Severity::kCritical;
          SetSubject(person, ins.get(), &a);
          a.condition_id = c.condition_id;
          FillCommon(ctx, e, &a);
          a.location_areas = areas;
          AddRecipient(&a, OfficerTopic(ins->oic));
          AddRecipient(&a, OfficerTopic(e.officer_id));
          AddControlRooms(control_areas, *ins, &a);
          a.extra["incident_ref"] = e.incident_ref;
          if (!e.officer_id.empty()) a.extra["attending_officer"] = e.officer_id;
          if (!e.summary.empty()) a.extra["incident_summary"] = e.summary;
          const AlertKind kind = a.kind;
          out->alerts.push_back(std::move(a));
          ++breaches;
          CountBreach(ctx, e, *ins, person, e.time, kind, out, c.condition_id);
        }
      }
    }
    out->note = "incident " + e.incident_ref + ": " + std::to_string(persons.size()) +
                " person(s), " + std::to_string(with_instruments) + " with instruments in force, " +
                std::to_string(breaches) + " breach(es)";
    return Status::Ok();
  }

 private:
  // True (and `a` filled with kind, summary and extras) when the incident
  // breaches condition `c` of `ins`, whose subject is `person`.
  static bool Breaches(const HandlerContext& ctx, const Event& e, const std::string& person,
                       const std::vector<std::string>& persons, const Instrument& ins,
                       const Condition& c, Alert* a) {
    const std::string in_incident = " in incident " + e.incident_ref;
    switch (c.kind) {
      case ConditionKind::kExclusionZone:
      case ConditionKind::kNotToAttend:
        return BreachedAtReportedLocation(ctx.zones, c, e.location, person, ins, in_incident, a);
      case ConditionKind::kNoContact: {
        if (c.person.empty() || c.person == person ||
            std::find(persons.begin(), persons.end(), c.person) == persons.end()) {
          return false;
        }
        a->kind = AlertKind::kNoContactBreach;
        a->extra["protected_person"] = c.person;
        a->summary = person + " and " + c.person + " are both involved" + in_incident +
                     (e.summary.empty() ? std::string() : " (" + e.summary + ")") +
                     ", contrary to no-contact condition " + c.condition_id + " of " +
                     ins.instrument_id;
        return true;
      }
      case ConditionKind::kCurfew:
      case ConditionKind::kResidence:
      case ConditionKind::kOther:
      case ConditionKind::kProximity:  // judged from the two devices (proximity_handler.cc)
        return false;
    }
    return false;
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeIncidentHandler() {
  return std::make_shared<IncidentHandler>();
}

}  // namespace bw
