// Shared helpers for handlers, and the trivial handlers.
#include <algorithm>
#include <cmath>

#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"

namespace bw {

void ResolveAreas(const ZoneIndex& zones, const Location& loc, std::vector<std::string>* all_areas,
                  std::vector<std::string>* control_areas) {
  const std::string control_set = zones.zones().empty() ? "" : zones.zones().front().zone_set;
  auto add = [](std::vector<std::string>* v, const std::string& s) {
    if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
  };
  if (loc.at) {
    for (const Zone* z : zones.ZonesContaining(*loc.at)) {
      add(all_areas, z->code);
      if (z->zone_set == control_set) add(control_areas, z->code);
    }
  }
  if (!loc.area.empty()) {
    add(all_areas, loc.area);
    const Zone* z = zones.Find(loc.area);
    if (z == nullptr || z->zone_set == control_set) add(control_areas, loc.area);
  }
}

void FillCommon(const HandlerContext& ctx, const Event& e, Alert* a) {
  a->event_time = e.time;
  a->late = e.time < ctx.now - std::chrono::seconds(ctx.policy.late_after_s);
  a->caused_by_source = e.source;
  a->caused_by_id = e.id;
  a->location_at = e.location.at;
}

std::string ZoneLabel(const ZoneIndex& zones, const std::string& code) {
  const Zone* z = zones.Find(code);
  if (z == nullptr || z->name.empty() || z->name == code) return code;
  return code + " (" + z->name + ")";
}

std::string RoundMetres(double m) {
  return std::to_string(static_cast<long>(std::lround(m))) + " m";
}

namespace {

class HeartbeatHandler final : public EventHandler {
 public:
  const char* name() const override { return "heartbeat"; }
  Status Decide(const Event&, const HandlerContext&, Outcome* out) const override {
    out->note = "heartbeat";
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeHeartbeatHandler() {
  return std::make_shared<HeartbeatHandler>();
}

}  // namespace bw
