// tag.position (protocol sections 4.1, 5.1, 5.2, 6.3): a GPS fix from the
// electronic-monitoring provider, matched at the fix's time against every
// condition of every instrument then in force for the wearer.
//
//   exclusion_zone  fix inside (boundary counts)            exclusion_zone_breach, critical
//                   segment from the previous fix crosses    zone_crossed, high
//   not_to_attend   within radius_m of the place (geodesic)  address_breach, critical
//   curfew          inside a window, after grace_min, and
//                   farther than radius_m from the place     curfew_breach, high
//   residence       not checked from fixes: a residence condition says where the
//                   subject must live, which one fix cannot show; the overnight
//                   presence it implies is enforced by the curfew condition that
//                   accompanies it (and the home unit's tag.curfew_violation).
//   no_contact      needs the other person's presence: check.incident only.
//   other           free text, never machine-checked.
//   proximity       judged against the protected person's device by the
//                   proximity handler, which runs after this one on every fix.
//
// Episodes, not fixes: consecutive breaching fixes of one condition are one
// episode with one alert (see EpisodeContinues).  A zone crossing is an
// episode of its own (key: the zone condition's id + "#zone_crossed"), but a
// crossing during an open presence episode of the same zone only extends that
// presence; a fix inside during an open crossing episode still raises the
// (critical) presence breach.  Breaches dated inside a custody interval are
// recorded and sent to the owning control room as info, marked in_custody,
// without paging the OIC or counting towards repeat breaches
// (PageOrInhibitForCustody).
//
// Stateless; all state changes (episodes, last fix) are queued as mutations.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "handlers/base/time_util.h"
#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/episodes.h"
#include "handlers/engine/event_handler.h"
#include "handlers/instruments/curfew.h"
#include "handlers/rules/device_alerts.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

using std::chrono::seconds;

// Zone crossings are an episode kind of their own, keyed on the zone
// condition's id with this suffix: a crossing and a later fix inside the zone
// are separate alerts.
constexpr char kZoneCrossedEpisodeSuffix[] = "#zone_crossed";

std::string AccuracyText(double accuracy_m) { return "fix accuracy ±" + RoundMetres(accuracy_m); }

// True when `f` shows that a fix at `at`, coming from `crossing_from` (when
// that can make a crossing), breaches the condition in no way: then the
// condition itself need not be read.  Each case is exactly a test the Check*
// function below would make first (see FixPrefilter).
bool RuledOut(const FixPrefilter& f, const GeoPoint& at,
              const std::optional<LastFix>& crossing_from) {
  using Kind = FixPrefilter::Kind;
  switch (f.kind) {
    case Kind::kNone:
      return false;
    case Kind::kNever:
    case Kind::kProximity:  // rules/proximity_handler.cc
      return true;
    case Kind::kEnvelope:  // neither inside the zone nor crossing it
      return !BoxCovers(f.box, at) &&
             (!crossing_from || !SegmentMeetsBox(f.box, crossing_from->at, at));
    case Kind::kFarFrom:  // not within radius_m
      return GeodesicDistanceBounds(at, f.at).lower > f.radius_m;
    case Kind::kAtHome:  // within radius_m: no curfew breach at any time
      return GeodesicDistanceBounds(at, f.at).upper <= f.radius_m;
  }
  return false;
}

// A breach found by this fix, before episode and custody handling.
struct Found {
  const Instrument* instrument;
  const Condition* condition;
  std::string episode_condition;  // EpisodeKey::condition_id
  Alert alert;                    // kind, severity, summary and kind-specific extras
};

class PositionHandler final : public EventHandler {
 public:
  const char* name() const override { return "tag.position"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* out) const override {
    if (!e.location.at) return Status::BadInput("at", "required field is missing", "missing_field");
    const GeoPoint at = *e.location.at;
    const std::string& person = e.person_id;

    // With 100k persons the state is far bigger than the CPU caches, and the
    // cost of a fix is mostly waiting for memory: the person's index entry
    // holds what rules out most conditions (FixPrefilter), so that the usual
    // fix reads no condition.  Plain pointers: the state outlives Decide, so no
    // reference counting.
    InstrumentRegistry::InstrumentRefs in_force;
    ctx.state.instruments.SubjectInForce(person, e.time, &in_force);

    // The previous fix by event time, for crossings; only a newer fix moves it.
    std::optional<LastFix> previous;
    if (auto it = ctx.state.last_fix.find(person); it != ctx.state.last_fix.end()) {
      previous = it->second;
    }
    if (!previous || e.time > previous->time) {
      out->last_fix.emplace(person, LastFix{e.time, at});
    }
    // An older (out-of-order) or equal-time fix never makes a crossing.
    std::optional<LastFix> crossing_from;
    if (previous && e.time > previous->time &&
        e.time - previous->time <= seconds(ctx.policy.crossing_max_gap_s)) {
      crossing_from = previous;
    }

    if (in_force.empty()) {
      // Monitoring data with no conditions is a data gap (spec 5.4): tell the
      // control rooms, once per run of such data (an episode, as for breaches).
      RaiseUnmatched(ctx, e, out);
      out->note =
          "position of " + person + " stored; no instrument in force at " + FormatRfc3339(e.time);
      return Status::Ok();
    }

    // The areas of the fix matter only to alerts: resolved for the first one.
    std::vector<std::string> areas, control_areas;
    bool areas_resolved = false;
    const std::optional<TimePoint> custody_since = ctx.state.CustodySince(person, e.time);

    std::vector<Found> found;
    std::vector<std::string> problems;
    for (const auto& ref : in_force) {
      const Instrument& ins = *ref.instrument;  // not read unless a condition is breached
      for (size_t k = 0; k < ref.conditions.size(); ++k) {
        // The copy next to the person's index entry, when there is one.
        const FixPrefilter& prefilter =
            ref.prefilters.empty() ? ref.conditions[k].prefilter : ref.prefilters[k];
        if (RuledOut(prefilter, at, crossing_from)) continue;
        const Condition& c = ref.conditions[k];
        switch (c.kind) {
          case ConditionKind::kExclusionZone:
            CheckExclusion(ctx, e, ins, c, crossing_from, &found, &problems);
            break;
          case ConditionKind::kNotToAttend:
            CheckNotToAttend(e, ins, c, &found);
            break;
          case ConditionKind::kCurfew:
            CheckCurfew(e, ins, c, &found, &problems);
            break;
          case ConditionKind::kResidence:  // see the file comment
          case ConditionKind::kNoContact:
          case ConditionKind::kOther:
          case ConditionKind::kProximity:  // rules/proximity_handler.cc
            break;
        }
      }
    }

    int raised = 0, extended = 0;
    for (Found& f : found) {
      Alert& a = f.alert;
      const EpisodeKey key{person, f.instrument->instrument_id, f.episode_condition};
      if (EpisodeContinues(ctx, key, e.time)) {
        ExtendEpisode(ctx, key, e.time, out);
        ++extended;
        continue;
      }
      if (f.episode_condition != f.condition->condition_id) {
        // A crossing while the subject's presence inside the same zone is an
        // open episode is more of that presence (boundary jitter), not news.
        const EpisodeKey presence{person, f.instrument->instrument_id, f.condition->condition_id};
        if (EpisodeContinues(ctx, presence, e.time)) {
          ExtendEpisode(ctx, presence, e.time, out);
          ++extended;
          continue;
        }
      }
      OpenEpisode(key, e.time, a.kind, out);
      ++raised;
      if (!areas_resolved) {
        ResolveAreas(ctx.zones, e.location, &areas, &control_areas);
        areas_resolved = true;
      }
      const Instrument& ins = *f.instrument;
      SetSubject(person, &ins, &a);
      a.condition_id = f.condition->condition_id;
      FillCommon(ctx, e, &a);
      a.location_areas = areas;
      a.extra["device_id"] = e.device_id;
      a.extra["accuracy_m"] = e.accuracy_m;
      const bool pages = PageOrInhibitForCustody(custody_since, control_areas, ins, &a);
      const AlertKind kind = a.kind;
      out->alerts.push_back(std::move(a));
      if (pages) CountBreach(ctx, e, ins, person, e.time, kind, out, f.condition->condition_id);
    }

    std::string& note = out->note;
    note.clear();
    note.reserve(128 + person.size());
    note.append("position of ").append(person).append(": ");
    note.append(std::to_string(in_force.size())).append(" instrument(s) in force, ");
    note.append(std::to_string(found.size())).append(" breach(es), ");
    note.append(std::to_string(raised)).append(" new episode(s), ");
    note.append(std::to_string(extended)).append(" continuing");
    if (custody_since) out->note += "; in custody";
    for (const auto& p : problems) out->note += "; " + p;
    return Status::Ok();
  }

 private:
  static void CheckExclusion(const HandlerContext& ctx, const Event& e, const Instrument& ins,
                             const Condition& c, const std::optional<LastFix>& crossing_from,
                             std::vector<Found>* found, std::vector<std::string>* problems) {
    const ExclusionArea area = ExclusionAreaOf(ctx.zones, c);
    if (!area.known()) {
      problems->push_back("zone " + c.zone_code + " of " + ins.instrument_id + " is not loaded");
      return;
    }
    const GeoBox* bbox = area.box();  // envelope of the area, when known: prefilters the exact tests
    auto label = [&] { return ExclusionAreaLabel(ctx.zones, c); };
    const GeoPoint& at = *e.location.at;
    if ((bbox == nullptr || BoxCovers(*bbox, at)) && Covers(area.geometry(), at)) {
      const double inside = DistanceToBoundaryMeters(area.geometry(), at);
      Found f{&ins, &c, c.condition_id, {}};
      f.alert.kind = AlertKind::kExclusionZoneBreach;
      f.alert.severity = Severity::kCritical;
      f.alert.extra["distance_inside_m"] = std::lround(inside);
      f.alert.summary = e.person_id + " is inside " + label() + ", " + RoundMetres(inside) +
                        " inside the boundary (" + AccuracyText(e.accuracy_m) + "), excluded by " +
                        ins.instrument_id;
      if (inside <= e.accuracy_m) {
        f.alert.summary += "; marginal: within the fix accuracy of the boundary";
      }
      found->push_back(std::move(f));
      return;
    }
    if (!crossing_from) return;
    // A segment that misses the zone's box cannot touch the zone (nor can its start).
    if (bbox != nullptr && !SegmentMeetsBox(*bbox, crossing_from->at, at)) return;
    if (Covers(area.geometry(), crossing_from->at) ||
        !SegmentCrosses(area.geometry(), crossing_from->at, at)) {
      return;
    }
    const double gap_s = SecondsBetween(crossing_from->time, e.time);
    Found f{&ins, &c, c.condition_id + kZoneCrossedEpisodeSuffix, {}};
    f.alert.kind = AlertKind::kZoneCrossed;
    f.alert.severity = Severity::kHigh;
    f.alert.extra["zone"] = c.zone_code.empty() ? std::string("inline") : c.zone_code;
    f.alert.extra["previous_fix"] = {
        {"time", FormatRfc3339(crossing_from->time)},
        {"at", boost::json::array{crossing_from->at.x(), crossing_from->at.y()}}};
    f.alert.extra["gap_s"] = std::llround(gap_s);
    f.alert.summary = e.person_id + " crossed " + label() + " between fixes " +
                      std::to_string(std::llround(gap_s)) + " s apart (" +
                      FormatRfc3339(crossing_from->time) + " and " + FormatRfc3339(e.time) +
                      ", both outside; " + AccuracyText(e.accuracy_m) + "), excluded by " +
                      ins.instrument_id;
    found->push_back(std::move(f));
  }

  static void CheckNotToAttend(const Event& e, const Instrument& ins, const Condition& c,
                               std::vector<Found>* found) {
    const std::optional<double> within = NotToAttendDistance(c, *e.location.at);
    if (!within) return;
    const double d = *within;
    Found f{&ins, &c, c.condition_id, {}};
    f.alert.severity = Severity::kCritical;
    DescribeAddressBreach(e.person_id, d, c, ins, "", "; " + AccuracyText(e.accuracy_m), &f.alert);
    if (d + e.accuracy_m > c.place->radius_m) {
      f.alert.summary += "; marginal: within the fix accuracy of the radius";
    }
    found->push_back(std::move(f));
  }

  static void CheckCurfew(const Event& e, const Instrument& ins, const Condition& c,
                          std::vector<Found>* found, std::vector<std::string>* problems) {
    if (!c.place) return;
    auto window = ActiveCurfewWindow(c, e.time, std::chrono::minutes(c.grace_min));
    if (!window.ok()) {
      problems->push_back("curfew " + c.condition_id + " of " + ins.instrument_id + ": " +
                          window.status().ToString());
      return;
    }
    if (!window->has_value()) return;
    const CurfewInterval& w = **window;
    const double d = GeodesicDistanceMeters(*e.location.at, c.place->at);
    if (d <= c.place->radius_m) return;
    Found f{&ins, &c, c.condition_id, {}};
    f.alert.kind = AlertKind::kCurfewBreach;
    f.alert.severity = Severity::kHigh;
    f.alert.extra["distance_m"] = std::lround(d);
    f.alert.extra["window_start"] = FormatRfc3339(w.start);
    f.alert.extra["window_end"] = FormatRfc3339(w.end);
    f.alert.summary =
        e.person_id + " is " + RoundMetres(d) + " from " +
        (c.place->label.empty() ? std::string("the curfew address") : c.place->label) +
        " during curfew " + DescribeCurfewWindow(c, w.window_index) + " (must be within " +
        RoundMetres(c.place->radius_m) + "; " + AccuracyText(e.accuracy_m) + "), " +
        ins.instrument_id;
    if (d - e.accuracy_m <= c.place->radius_m) {
      f.alert.summary += "; marginal: within the fix accuracy of the radius";
    }
    found->push_back(std::move(f));
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakePositionHandler() {
  return std::make_shared<PositionHandler>();
}

}  // namespace bw
