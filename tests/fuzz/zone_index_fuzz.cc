// Fuzzes the GeoJSON zone loader (handlers/geo/zone_index.h) with an arbitrary zone
// set text, built both strictly and with skip_invalid.  Contract checked: it
// never crashes, a refusal is BadInput naming the zone set, and a built index
// answers point queries (each zone's own box corners and centre) safely.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/geo/zone_index.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void Exercise(const bw::ZoneIndex& index) {
  for (const bw::Zone& zone : index.zones()) {
    FUZZ_CHECK(index.Find(zone.code) == &zone, zone.code);
    const bw::GeoPoint& lo = zone.bbox.min_corner();
    const bw::GeoPoint& hi = zone.bbox.max_corner();
    for (const bw::GeoPoint& p :
         {lo, hi, bw::GeoPoint((lo.x() + hi.x()) / 2, (lo.y() + hi.y()) / 2)}) {
      (void)index.ZonesContaining(p);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool skip_invalid : {false, true}) {
    bw::ZoneSetSource set;
    set.name = "fuzz.geojson";
    set.geojson_text.assign(reinterpret_cast<const char*>(data), size);
    set.code_property = "code";
    set.name_property = "name";
    set.skip_invalid = skip_invalid;
    auto index = bw::ZoneIndex::Build({set});
    if (!index.ok()) {
      FUZZ_CHECK(index.status().code() == bw::ErrorCode::kBadInput, index.status().ToString());
      FUZZ_CHECK(index.status().field().rfind("zones[fuzz.geojson]", 0) == 0,
                 index.status().ToString());
      continue;
    }
    FUZZ_CHECK((*index)->size() > 0, std::string("empty index built"));
    Exercise(**index);
  }
  return 0;
}
