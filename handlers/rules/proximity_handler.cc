// The proximity condition (protocol 9.3): the subject must keep radius_m away
// from the protected person wherever they are.  Judged whenever a fix of either
// party arrives — the subject's tag.position (this handler runs after the
// position handler, see Engine) or the protected person's victim.position —
// against the other party's fix nearest in event time, when the two are at most
// policy.proximity_max_age_s apart (older or newer).  A late fix is judged at
// its own event time: against the other's fix of that time, the instruments
// and custody of that time.
//
//   separation = geodesic distance + both fixes' accuracy_m (the farthest apart
//                they may be: the accuracy taken in the subject's favour)
//   separation < radius_m   -> proximity_breach, critical: officer copy to the
//                              OIC and the safety contacts, control copy to the
//                              owning control room and the control room of the
//                              area where the protected person is
//   separation < warning_m  -> proximity_warning, high: control copy to the
//                              owning control room only
//
// The copies and where the protected person's position may appear:
// handlers/alerts/protected_location.h.  Episodes as in 5.1 (episodes.h), one
// per level: key (subject, instrument, condition) for the breach and the same
// with "#warning" for the warning distance.  The warning episode runs while the
// two are within warning_m, a breach included, so that a breach raises no
// warning beside it and backing off from a breach raises none either.  Dated
// inside a custody interval of the subject: the control copy only, to the
// owning control room as info (PageOrInhibitForCustody), not counted as a
// breach.  A breach that pages counts as one (CountBreach).
//
// Cost per fix: a subject's fix reads the subject's index entry (already read
// by the position handler) and finds proximity conditions by their prefilter
// kind; a protected person's fix reads the instruments protecting her
// (InstrumentRegistry::ProtectingInForce).  Neither grows with the number of
// protected persons.  Only the fixes of parties to a proximity condition in
// force are kept (EngineState::proximity_subject_fixes / protected_person_fixes).
//
// Stateless; state changes are queued as mutations.
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/episodes.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/device_alerts.h"
#include "handlers/rules/protected_person_alerts.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

using std::chrono::seconds;

constexpr char kWarningEpisodeSuffix[] = "#warning";

// The farthest apart two fixes `distance_m` apart may be, given their accuracy.
double SeparationInSubjectsFavour(double distance_m, const ProximityFix& a,
                                  const ProximityFix& b) {
  return distance_m + a.accuracy_m + b.accuracy_m;
}

// One proximity condition to judge, with a fix of each party.
struct Pairing {
  const Instrument* instrument;
  const Condition* condition;
  ProximityFix subject_fix;
  ProximityFix protected_fix;
};

bool IsProximity(const FixPrefilter& prefilter, const Condition& c) {
  if (prefilter.kind == FixPrefilter::Kind::kProximity) return true;
  // A condition not built by DecodeInstrument has no prefilter: read its kind.
  return prefilter.kind == FixPrefilter::Kind::kNone && c.kind == ConditionKind::kProximity;
}

std::optional<ProximityFix> NearestFix(const FlatStringMap<FixTrack>& tracks,
                                       const std::string& person, TimePoint t,
                                       seconds max_age) {
  auto it = tracks.find(person);
  if (it == tracks.end()) return std::nullopt;
  return it->second.Nearest(t, max_age);
}

void RecordFix(FlatStringMap<FixTrack> EngineState::*tracks, const std::string& person,
               const ProximityFix& fix, Outcome* out) {
  out->mutations.push_back([tracks, person, fix](EngineState& s) { (s.*tracks)[person].Add(fix); });
}

class ProximityHandler final : public EventHandler {
 public:
  const char* name() const override { return "proximity"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* out) const override {
    if (!e.location.at) return Status::BadInput("at", "required field is missing", "missing_field");
    const ProximityFix fix{e.time, *e.location.at, e.accuracy_m};
    const seconds max_age(ctx.policy.proximity_max_age_s);
    std::vector<Pairing> pairings;
    // Keeps the instruments ProtectingInForce returns alive while `pairings` points at them.
    std::vector<std::shared_ptr<const Instrument>> protecting;

    if (e.type == EventType::kVictimPosition) {
      protecting = ctx.state.instruments.ProtectingInForce(e.person_id, e.time);
      if (protecting.empty()) {
        // Device data of a person nobody is ordered to keep away from: a data gap (9.3).
        RaiseUnmatched(ctx, e, out);
        out->note = "device position of " + e.person_id +
                    " stored; no instrument in force protects them at " + FormatRfc3339(e.time);
        return Status::Ok();
      }
      RecordFix(&EngineState::protected_person_fixes, e.person_id, fix, out);
      for (const auto& ins : protecting) {
        for (const Condition& c : ins->conditions) {
          if (!IsProximity(c.prefilter, c) || c.person != e.person_id) continue;
          auto other = NearestFix(ctx.state.proximity_subject_fixes, ins->subject, e.time, max_age);
          if (other) pairings.push_back({ins.get(), &c, *other, fix});
        }
      }
      out->note = "device position of protected person " + e.person_id + ": " +
                  std::to_string(protecting.size()) + " instrument(s) protecting them";
    } else {
      InstrumentRegistry::InstrumentRefs in_force;
      ctx.state.instruments.SubjectInForce(e.person_id, e.time, &in_force);
      bool bound = false;  // the subject has a proximity condition in force
      for (const auto& ref : in_force) {
        for (size_t k = 0; k < ref.conditions.size(); ++k) {
          const Condition& c = ref.conditions[k];
          if (!IsProximity(ref.prefilters.empty() ? c.prefilter : ref.prefilters[k], c)) continue;
          bound = true;
          auto other = NearestFix(ctx.state.protected_person_fixes, c.person, e.time, max_age);
          if (other) pairings.push_back({ref.instrument, &c, fix, *other});
        }
      }
      if (!bound) return Status::Ok();  // the usual fix: nothing kept, nothing said
      RecordFix(&EngineState::proximity_subject_fixes, e.person_id, fix, out);
    }

    int raised = 0;
    for (const Pairing& p : pairings) raised += Judge(ctx, e, p, out);
    out->note += "; proximity: " + std::to_string(pairings.size()) +
                 " pairing(s) with a fix of the other party within " +
                 std::to_string(ctx.policy.proximity_max_age_s) + " s, " +
                 std::to_string(raised) + " alert(s)";
    return Status::Ok();
  }

 private:
  // Judges one pairing; returns the number of alerts raised.
  static int Judge(const HandlerContext& ctx, const Event& e, const Pairing& p, Outcome* out) {
    const Instrument& ins = *p.instrument;
    const Condition& c = *p.condition;
    const double distance = GeodesicDistanceMeters(p.subject_fix.at, p.protected_fix.at);
    const double separation = SeparationInSubjectsFavour(distance, p.subject_fix, p.protected_fix);
    if (separation >= c.proximity_warning_m) return 0;
    const std::string& subject = ins.subject;
    const EpisodeKey breach_key{subject, ins.instrument_id, c.condition_id};
    const EpisodeKey warning_key{subject, ins.instrument_id,
                                 c.condition_id + kWarningEpisodeSuffix};
    const bool warning_continues = EpisodeContinues(ctx, warning_key, e.time);
    if (warning_continues) {
      ExtendEpisode(ctx, warning_key, e.time, out);
    } else {
      OpenEpisode(warning_key, e.time, AlertKind::kProximityWarning, out);
    }
    const bool breach = separation < c.proximity_radius_m;
    if (breach) {
      if (EpisodeContinues(ctx, breach_key, e.time)) {
        ExtendEpisode(ctx, breach_key, e.time, out);
        return 0;
      }
      OpenEpisode(breach_key, e.time, AlertKind::kProximityBreach, out);
    } else if (warning_continues) {
      return 0;
    }
    return Raise(ctx, e, p, distance, separation, breach, out);
  }

  static int Raise(const HandlerContext& ctx, const Event& e, const Pairing& p, double distance,
                   double separation, bool breach, Outcome* out) {
    const Instrument& ins = *p.instrument;
    const Condition& c = *p.condition;
    const std::string& subject = ins.subject;
    const AlertKind kind = breach ? AlertKind::kProximityBreach : AlertKind::kProximityWarning;
    Alert base = NewEventAlert(ctx, e, kind, breach ? Severity::kCritical : Severity::kHigh,
                               subject, &ins);
    base.condition_id = c.condition_id;
    // `location` is the subject's, whichever fix arrived (protected_location.h).
    base.location_at = p.subject_fix.at;
    std::vector<std::string> subject_areas, unused;
    ResolveAreas(ctx.zones, Location{p.subject_fix.at, ""}, &subject_areas, &unused);
    base.location_areas = subject_areas;
    base.extra["device_id"] = e.device_id;
    base.extra["judged_on"] = e.type == EventType::kVictimPosition ? "protected_person_fix"
                                                                   : "subject_fix";
    base.extra["protected_person_id"] = c.person;
    base.extra["distance_m"] = std::lround(distance);
    base.extra["separation_in_subjects_favour_m"] = std::lround(separation);
    base.extra["radius_m"] = c.proximity_radius_m;
    base.extra["warning_m"] = c.proximity_warning_m;
    base.extra["subject_fix"] = FixJson(p.subject_fix);
    base.extra["protected_person_fix_time"] = FormatRfc3339(p.protected_fix.time);
    base.extra["fix_gap_s"] =
        std::llround(std::abs(SecondsBetween(p.subject_fix.time, p.protected_fix.time)));
    base.extra["owning_control"] = ins.owning_control;
    base.summary = subject + " is " + RoundMetres(distance) + " from protected person " +
                   c.person + " (at most " + RoundMetres(separation) +
                   " allowing for fix accuracy ±" + RoundMetres(p.subject_fix.accuracy_m) +
                   " and ±" + RoundMetres(p.protected_fix.accuracy_m) + "; " +
                   (breach ? "must keep " + RoundMetres(c.proximity_radius_m) + " away"
                           : "warning distance " + RoundMetres(c.proximity_warning_m)) +
                   "), proximity condition " + c.condition_id + " of " + ins.instrument_id;

    ProtectedPersonWhere where;
    where.person_id = c.person;
    where.fix = p.protected_fix;
    std::vector<std::string> her_control_areas;
    ResolveAreas(ctx.zones, Location{p.protected_fix.at, ""}, &where.areas, &her_control_areas);
    AlertCopies copies = CopiesForOfficersAndControl(base, where);

    const std::optional<TimePoint> custody_since = ctx.state.CustodySince(subject, e.time);
    if (custody_since) {
      // Recorded for the owning control room, as info; nobody paged, no breach counted.
      PageOrInhibitForCustody(custody_since, {}, ins, &copies.control);
      out->alerts.push_back(std::move(copies.control));
      return 1;
    }
    if (!breach) {
      AddRecipient(&copies.control, ControlTopic(ins.owning_control));
      out->alerts.push_back(std::move(copies.control));
      return 1;
    }
    AddCaseOfficers(ins, &copies.officer);
    AddControlRooms(her_control_areas, ins, &copies.control);
    out->alerts.push_back(std::move(copies.officer));
    out->alerts.push_back(std::move(copies.control));
    // A repeat_breach (to the supervisor) takes its location from the cause: give it the
    // subject's fix, never hers.
    Event as_subject = e;
    as_subject.location = Location{p.subject_fix.at, ""};
    CountBreach(ctx, as_subject, ins, subject, e.time, AlertKind::kProximityBreach, out);
    return 2;
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeProximityHandler() {
  return std::make_shared<ProximityHandler>();
}

}  // namespace bw
