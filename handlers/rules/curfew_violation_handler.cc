// tag.curfew_violation (protocol sections 4.1, 5.1, 5.2): the home monitoring
// unit says the subject is absent during curfew.  A `start` dated inside a
// window of a curfew condition in force (after its grace_min, on the wall clock
// of the condition's tz) is a curfew_breach (high) to the OIC.  `end` is stored
// and noted; it does not close the episode, which closes by time like any other.
//
// The episode key is (person, instrument, condition) — the same key as
// curfew breaches seen from GPS fixes — so one absence reported by both the
// home unit and the tag pages once.  Inside a custody interval the breach is
// recorded and sent to the owning control room as info, marked in_custody, and
// not counted towards repeat breaches (PageOrInhibitForCustody).
//
// Stateless; episode changes are queued as mutations.
#include <algorithm>
#include <chrono>

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

class CurfewViolationHandler final : public EventHandler {
 public:
  const char* name() const override { return "tag.curfew_violation"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* out) const override {
    const std::string& person = e.person_id;
    auto in_force = ctx.state.instruments.SubjectInForce(person, e.time);
    if (in_force.empty()) {
      // Monitoring data with no conditions is a data gap (spec 5.4): tell the
      // control rooms, once per run of such data (an episode, as for breaches).
      RaiseUnmatched(ctx, e, out);
      out->note = "curfew violation " + e.state + " for " + person +
                  " stored; no instrument in force at " + FormatRfc3339(e.time);
      return Status::Ok();
    }
    if (e.state != "start") {
      out->note = "curfew violation " + e.state + " for " + person + " recorded";
      return Status::Ok();
    }

    const std::optional<TimePoint> custody_since = ctx.state.CustodySince(person, e.time);
    int curfews = 0, inside = 0, raised = 0;
    std::vector<std::string> problems;
    for (const auto& ins : in_force) {
      for (const auto& c : ins->conditions) {
        if (c.kind != ConditionKind::kCurfew) continue;
        ++curfews;
        auto window = ActiveCurfewWindow(c, e.time, std::chrono::minutes(c.grace_min));
        if (!window.ok()) {
          problems.push_back("curfew " + c.condition_id + " of " + ins->instrument_id + ": " +
                             window.status().ToString());
          continue;
        }
        if (!window->has_value()) continue;
        ++inside;
        const EpisodeKey key{person, ins->instrument_id, c.condition_id};
        if (EpisodeContinues(ctx, key, e.time)) {
          ExtendEpisode(ctx, key, e.time, out);
          continue;
        }
        OpenEpisode(key, e.time, AlertKind::kCurfewBreach, out);
        ++raised;
        const CurfewInterval& w = **window;
        Alert a =
            NewEventAlert(ctx, e, AlertKind::kCurfewBreach, Severity::kHigh, person, ins.get());
        a.condition_id = c.condition_id;
        a.extra["device_id"] = e.device_id;
        a.extra["state"] = e.state;
        a.extra["window_start"] = FormatRfc3339(w.start);
        a.extra["window_end"] = FormatRfc3339(w.end);
        std::string place = "the curfew address";
        if (c.place) {
          if (!c.place->label.empty()) place = c.place->label;
          a.extra["place"] = {{"label", c.place->label},
                              {"at", boost::json::array{c.place->at.x(), c.place->at.y()}},
                              {"radius_m", c.place->radius_m}};
        }
        a.summary = "home monitoring unit reports " + person + " absent from " + place +
                    " during curfew " + DescribeCurfewWindow(c, w.window_index) + ", " +
                    ins->instrument_id;
        // High: to the OIC, or to the owning control room only while in custody.
        const bool pages = PageOrInhibitForCustody(custody_since, {}, *ins, &a);
        out->alerts.push_back(std::move(a));
        if (pages) {
          CountBreach(ctx, e, *ins, person, e.time, AlertKind::kCurfewBreach, out, c.condition_id);
        }
      }
    }
    out->note = "curfew violation start for " + person + ": " + std::to_string(curfews) +
                " curfew condition(s) in force, inside " + std::to_string(inside) + " window(s), " +
                std::to_string(raised) + " new episode(s)";
    if (custody_since) out->note += "; in custody";
    for (const auto& p : problems) out->note += "; " + p;
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeCurfewViolationHandler() {
  return std::make_shared<CurfewViolationHandler>();
}

}  // namespace bw
