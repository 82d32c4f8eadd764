// victim.panic (protocol 9.3): the protected person pressed the panic button on
// her own device.  For every instrument in force at the press that protects her,
// a victim_panic (critical, never inhibited by custody: she may be in danger
// from someone else, or he may have been released unnoticed):
//   - officer copy to the OIC and the safety contacts;
//   - control copy to the owning control room and the control room of the area
//     where she is (the press's `at`, else her device's latest fix), carrying
//     her position (handlers/alerts/protected_location.h).
// Both carry the subject's latest known fix (`subject_fix`, and the alert's
// location), the subject's custody state at the press (in_custody,
// custody_since) and, when both positions are known, the distance between them.
// A press by a person no instrument in force protects raises
// unmatched_tag_event (a data gap, as for the tag).
//
// Stateless; the press's position, when given, is kept as her latest device fix.
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/device_alerts.h"
#include "handlers/rules/protected_person_alerts.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

class VictimPanicHandler final : public EventHandler {
 public:
  const char* name() const override { return "victim.panic"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* out) const override {
    const std::string& her = e.person_id;
    const auto protecting = ctx.state.instruments.ProtectingInForce(her, e.time);
    if (protecting.empty()) {
      RaiseUnmatched(ctx, e, out);
      out->note = "panic from device " + e.device_id + " of " + her +
                  ", whom no instrument in force protects at " + FormatRfc3339(e.time);
      return Status::Ok();
    }

    // Where she is: the press's position, else her device's latest fix.
    ProtectedPersonWhere where;
    where.person_id = her;
    if (e.location.at) {
      where.fix = ProximityFix{e.time, *e.location.at, e.accuracy_m};
      const ProximityFix fix = *where.fix;
      out->mutations.push_back([her, fix](EngineState& s) { s.protected_person_fixes[her].Add(fix); });
    } else if (auto it = ctx.state.protected_person_fixes.find(her);
               it != ctx.state.protected_person_fixes.end()) {
      where.fix = it->second.Latest();
    }
    std::vector<std::string> her_control_areas;
    if (where.fix) {
      ResolveAreas(ctx.zones, Location{where.fix->at, ""}, &where.areas, &her_control_areas);
    }

    for (const auto& ins : protecting) {
      const std::string& subject = ins->subject;
      Alert base = NewEventAlert(ctx, e, AlertKind::kVictimPanic, Severity::kCritical, subject,
                                 ins.get());
      // `location` is the subject's latest known fix, or none (protected_location.h).
      base.location_at.reset();
      base.location_areas.clear();
      base.extra["device_id"] = e.device_id;
      base.extra["protected_person_id"] = her;
      base.extra["owning_control"] = ins->owning_control;
      std::string where_he_is = "no known fix of " + subject;
      if (auto fix = ctx.state.last_fix.find(subject); fix != ctx.state.last_fix.end()) {
        const LastFix& last = fix->second;
        base.location_at = last.at;
        std::vector<std::string> unused;
        ResolveAreas(ctx.zones, Location{last.at, ""}, &base.location_areas, &unused);
        boost::json::object subject_fix;
        subject_fix["time"] = FormatRfc3339(last.time);
        subject_fix["at"] = boost::json::array{last.at.x(), last.at.y()};
        subject_fix["age_s"] = std::llround(SecondsBetween(last.time, e.time));
        base.extra["subject_fix"] = std::move(subject_fix);
        where_he_is = subject + " last fixed at " + FormatRfc3339(last.time);
        if (where.fix) {
          const double d = GeodesicDistanceMeters(last.at, where.fix->at);
          base.extra["distance_m"] = std::lround(d);
          where_he_is += ", " + RoundMetres(d) + " from her";
        }
      } else {
        base.extra["subject_fix"] = nullptr;
      }
      const std::optional<TimePoint> custody_since = ctx.state.CustodySince(subject, e.time);
      base.in_custody = custody_since.has_value();
      if (custody_since) base.extra["custody_since"] = FormatRfc3339(*custody_since);
      base.summary = "PANIC: protected person " + her + " pressed the panic button on device " +
                     e.device_id + " (" + ins->instrument_id + "); " + where_he_is + "; " +
                     (custody_since ? subject + " in custody since " + FormatRfc3339(*custody_since)
                                    : subject + " not in custody");

      AlertCopies copies = CopiesForOfficersAndControl(base, where);
      AddCaseOfficers(*ins, &copies.officer);
      AddControlRooms(her_control_areas, *ins, &copies.control);
      out->alerts.push_back(std::move(copies.officer));
      out->alerts.push_back(std::move(copies.control));
    }
    out->note = "panic from device " + e.device_id + " of " + her + ": " +
                std::to_string(protecting.size()) + " instrument(s) protecting them, " +
                std::to_string(out->alerts.size()) + " alert(s)";
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeVictimPanicHandler() {
  return std::make_shared<VictimPanicHandler>();
}

}  // namespace bw
