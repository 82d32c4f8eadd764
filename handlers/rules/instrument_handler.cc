// instrument.granted / instrument.varied / instrument.ended (protocol section 3).
// A variation is also a line of the subject's history (protocol 9.1), marked
// same_conditions when its conditions equal those of the version it follows (a
// re-bail on the same conditions).
#include <algorithm>

#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"

namespace bw {
namespace {

Status ValidateZones(const ZoneIndex& zones, const Instrument& ins) {
  for (size_t i = 0; i < ins.conditions.size(); ++i) {
    const auto& c = ins.conditions[i];
    if (c.kind == ConditionKind::kExclusionZone && !c.zone_code.empty() &&
        zones.Find(c.zone_code) == nullptr) {
      return Status::BadInput(
          "instrument.conditions[" + std::to_string(i) + "].zone",
          "unknown zone code \"" + c.zone_code + "\" (not in any loaded zone set)", "unknown_code");
    }
  }
  return Status::Ok();
}

// True when `ins`, varied at `t`, has the conditions of the version it follows
// (the latest effective at or before `t`, else the latest), as received.
bool SameConditionsAsBefore(const std::vector<InstrumentRegistry::Version>& versions, TimePoint t,
                            const Instrument& ins) {
  const Instrument* before = nullptr;
  for (const auto& v : versions) {
    if (!v.instrument) continue;
    if (before != nullptr && v.effective > t) break;
    before = v.instrument.get();
  }
  if (before == nullptr) return false;
  return before->conditions_digest == ins.conditions_digest;
}

class InstrumentHandler final : public EventHandler {
 public:
  const char* name() const override { return "instrument"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* o) const override {
    InstrumentChange c;
    c.effective = e.time;
    if (e.type == EventType::kInstrumentEnded) {
      if (ctx.state.instruments.VersionsOf(e.instrument_id) == nullptr) {
        return Status::BadInput("instrument_id",
                                "no instrument \"" + e.instrument_id + "\" has been granted",
                                "not_found");
      }
      c.kind = InstrumentChange::Kind::kEnded;
      c.instrument_id = e.instrument_id;
      c.end_reason = e.end_reason;
      o->note = "instrument " + e.instrument_id + " ended (" + e.end_reason + ")";
      o->changes.push_back(std::move(c));
      return Status::Ok();
    }
    const Instrument& ins = *e.instrument;
    Status zs = ValidateZones(ctx.zones, ins);
    if (!zs.ok()) return zs;
    const auto* versions = ctx.state.instruments.VersionsOf(ins.instrument_id);
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
      o->note = "instrument " + ins.instrument_id + " granted";
    } else {
      if (versions == nullptr) {
        return Status::BadInput("instrument.instrument_id",
                                "no instrument \"" + ins.instrument_id + "\" has been granted",
                                "not_found");
      }
      c.kind = InstrumentChange::Kind::kVaried;
      const bool same = SameConditionsAsBefore(*versions, e.time, ins);
      HistoryEntry line{e.time, "instrument_varied", ins.instrument_id};
      line.same_conditions = same;
      line.cause_source = e.source;
      line.cause_id = e.id;
      RecordHistory(ctx, ins.subject, std::move(line), o);
      o->note = "instrument " + ins.instrument_id + " varied (version " +
                std::to_string(versions->size() + 1) + ")" + (same ? ", same conditions" : "");
    }
    c.instrument_id = ins.instrument_id;
    auto recorded = std::make_shared<Instrument>(ins);
    // Numbered as the store numbers the versions it records: every change, in order.
    recorded->version = static_cast<uint32_t>(versions == nullptr ? 1 : versions->size() + 1);
    c.instrument = std::move(recorded);
    c.instrument_raw = e.instrument_raw;
    o->changes.push_back(std::move(c));
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeInstrumentHandler() {
  return std::make_shared<InstrumentHandler>();
}

}  // namespace bw
