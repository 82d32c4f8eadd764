// instrument_expiring (protocol section 5.3), a time-driven rule run by
// Engine::Tick at the daemon's clock (ctx.now).
//
// For every instrument whose version in force at `now` has a valid_until with
//   valid_until - expiry_warning_h <= now < valid_until
// and that has not been warned about for that same valid_until
// (InstrumentRegistry::ExpiryWarnedFor), one instrument_expiring alert (medium)
// goes to its `oic`, with `valid_until`; a mutation records the warning.  A
// variation that changes valid_until is warned about again when its own window
// opens; one that keeps it is not.  A daemon that was down through the whole
// warning window does not warn after valid_until: the instrument has ended
// (InForceAt) and a warning would be misleading.
//
// The end itself needs no rule: InstrumentRegistry::InForceAt stops applying
// an instrument at its valid_until.
//
// Stateless; Tick only reads ctx.state, the warning record is an Outcome
// mutation.  Thread-safety as for every TickHandler.
#include <set>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

std::string HoursMinutes(std::chrono::milliseconds d) {
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d).count();
  return std::to_string(minutes / 60) + " h " + std::to_string(minutes % 60) + " min";
}

class ExpiryTickHandler final : public TickHandler {
 public:
  const char* name() const override { return "instrument_expiring"; }

  Status Tick(const HandlerContext& ctx, Outcome* o) const override {
    const auto warning = std::chrono::hours(ctx.policy.expiry_warning_h);
    int warned = 0;
    // Only instruments with a version ending within the warning window, not
    // yet warned about, can be warned about: an ordered index, not a walk over
    // every instrument (nor every one already warned) every tick.
    std::set<std::string> seen;
    for (const std::string& id :
         ctx.state.instruments.UnwarnedValidUntilIn(ctx.now, ctx.now + warning)) {
      if (!seen.insert(id).second) continue;
      auto ins = ctx.state.instruments.InForceAt(id, ctx.now);
      if (!ins || !ins->valid_until) continue;
      const TimePoint until = *ins->valid_until;
      if (ctx.now < until - warning || ctx.now >= until) continue;
      if (ctx.state.instruments.ExpiryWarnedFor(id) == until) continue;
      Alert a;
      a.kind = AlertKind::kInstrumentExpiring;
      a.severity = Severity::kMedium;
      a.event_time = ctx.now;
      SetSubject(ins->subject, ins.get(), &a);
      AddRecipient(&a, OfficerTopic(ins->oic));
      a.summary = std::string(InstrumentKindName(ins->kind)) + " " + id + " of " + ins->subject +
                  " expires at " + FormatRfc3339(until) + " (in " + HoursMinutes(until - ctx.now) +
                  ")";
      a.extra["valid_until"] = FormatRfc3339(until);
      a.extra["owning_control"] = ins->owning_control;
      o->alerts.push_back(std::move(a));
      o->mutations.push_back(
          [id = id, until](EngineState& s) { s.instruments.RecordExpiryWarning(id, until); });
      ++warned;
    }
    if (warned > 0) {
      if (!o->note.empty()) o->note += "; ";
      o->note += std::to_string(warned) + " instrument(s) expiring";
    }
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const TickHandler> MakeExpiryTickHandler() {
  return std::make_shared<ExpiryTickHandler>();
}

}  // namespace bw
