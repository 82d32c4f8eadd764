// instrument.granted / instrument.varied / instrument.ended (protocol section 3).
#include <algorithm>

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
      o->note = "instrument " + ins.instrument_id + " varied (version " +
                std::to_string(versions->size() + 1) + ")";
    }
    c.instrument_id = ins.instrument_id;
    c.instrument = std::make_shared<const Instrument>(ins);
    o->changes.push_back(std::move(c));
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeInstrumentHandler() {
  return std::make_shared<InstrumentHandler>();
}

}  // namespace bw
