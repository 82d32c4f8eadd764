// check.person (protocol sections 4.3, 5.1, 6.3): an officer checks a person at a
// place.  The officer always gets a check_result listing every condition in
// force; a breach of an exclusion zone or a not-to-attend place also raises a
// critical alert to the checking officer, the OIC, the control rooms of the
// area and the owning control room, and counts towards repeat breaches.
// Not inhibited by custody: a person checked on the street is not in a cell.
//
// Stateless; nothing here changes state except CountBreach's mutations.
#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

class CheckPersonHandler final : public EventHandler {
 public:
  const char* name() const override { return "check.person"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* o) const override {
    std::vector<std::string> areas, control_areas;
    ResolveAreas(ctx.zones, e.location, &areas, &control_areas);
    auto in_force = ctx.state.instruments.SubjectInForce(e.person_id, e.time);

    std::vector<InstrumentVersionRef> instruments;
    boost::json::array breached_ids;
    boost::json::array breached_detail;
    std::vector<std::string> breach_texts;
    for (const auto& ins : in_force) {
      instruments.push_back({ins->instrument_id, ins->version});
      for (const auto& c : ins->conditions) {
        Alert a;
        if (!Breaches(ctx, e, *ins, c, &a)) continue;
        a.severity = Severity::kCritical;
        SetSubject(e.person_id, ins.get(), &a);
        a.condition_id = c.condition_id;
        FillCommon(ctx, e, &a);
        a.location_areas = areas;
        AddRecipient(&a, OfficerTopic(e.officer_id));
        AddPagedRecipients(control_areas, *ins, &a);
        a.extra["check_officer"] = e.officer_id;
        breached_ids.emplace_back(c.condition_id);
        breached_detail.push_back({{"instrument_id", ins->instrument_id},
                                   {"condition_id", c.condition_id},
                                   {"kind", AlertKindName(a.kind)}});
        breach_texts.push_back(c.condition_id + " " + ConditionKindName(c.kind) + " of " +
                               ins->instrument_id);
        const AlertKind kind = a.kind;
        o->alerts.push_back(std::move(a));
        CountBreach(ctx, e, *ins, e.person_id, e.time, kind, o, c.condition_id);
      }
    }

    // The officer on the street always learns the conditions in force.
    Alert r = NewEventAlert(ctx, e, AlertKind::kCheckResult, Severity::kInfo, e.person_id, nullptr);
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
    r.extra["instruments"] = boost::json::array();  // the daemon puts their JSON in
    r.embed_instruments = std::move(instruments);
    r.extra["breached"] = std::move(breached_ids);
    r.extra["breached_conditions"] = std::move(breached_detail);
    o->alerts.push_back(std::move(r));
    o->note = "check of " + e.person_id + ": " + std::to_string(in_force.size()) +
              " instrument(s) in force, " + std::to_string(o->alerts.size() - 1) + " breach(es)";
    return Status::Ok();
  }

 private:
  // True (and `a` filled with kind, summary and extras) when the check breaches `c`.
  static bool Breaches(const HandlerContext& ctx, const Event& e, const Instrument& ins,
                       const Condition& c, Alert* a) {
    return BreachedAtReportedLocation(ctx.zones, c, e.location, e.person_id, ins, "", a);
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeCheckPersonHandler() {
  return std::make_shared<CheckPersonHandler>();
}

}  // namespace bw
