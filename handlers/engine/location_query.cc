#include "handlers/engine/location_query.h"

#include "handlers/geo/geometry.h"

namespace bw {
namespace {

bool Forbids(const Condition& c, const ZoneIndex& zones, const Location& where,
             const Zone* area_zone) {
  if (c.kind == ConditionKind::kExclusionZone) {
    const Zone* zone = c.inline_zone ? nullptr : zones.Find(c.zone_code);
    const GeoMultiPolygon* geom =
        c.inline_zone ? &*c.inline_zone : (zone != nullptr ? &zone->geometry : nullptr);
    if (where.at && geom != nullptr && Covers(*geom, *where.at)) return true;
    return area_zone != nullptr &&
           (c.zone_code == where.area ||
            (geom != nullptr && AreasOverlap(*geom, area_zone->geometry)));
  }
  if (c.kind == ConditionKind::kNotToAttend && c.place) {
    if (where.at && GeodesicDistanceMeters(*where.at, c.place->at) <= c.place->radius_m) {
      return true;
    }
    return area_zone != nullptr && Covers(area_zone->geometry, c.place->at);
  }
  return false;
}

}  // namespace

std::vector<ForbiddingCondition> ConditionsForbidding(const EngineState& state,
                                                      const ZoneIndex& zones,
                                                      const Location& where, const Zone* area_zone,
                                                      TimePoint at) {
  std::vector<ForbiddingCondition> out;
  for (const auto& [id, versions] : state.instruments.all()) {
    auto ins = state.instruments.InForceAt(id, at);
    if (!ins) continue;
    for (const auto& c : ins->conditions) {
      if (Forbids(c, zones, where, area_zone)) out.push_back({ins, &c});
    }
  }
  return out;
}

}  // namespace bw
