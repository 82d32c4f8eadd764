// ZoneIndex: the set of named geographic zones (boroughs, police force areas,
// exclusion zones...) that bail conditions refer to, with a spatial index for
// "which zones contain this fix?".
//
// Zones come from one or more zone sets, each a GeoJSON FeatureCollection of
// Polygon / MultiPolygon features whose code and name are read from
// configurable properties.  Zone codes are unique across all sets.  Build
// parses and validates everything up front and reports the first problem as a
// Status naming the zone set and feature; it never throws.
//
// Thread-safety: a ZoneIndex is immutable once built, so any number of threads
// may call its const methods concurrently.  The daemon holds the current index
// as std::shared_ptr<const ZoneIndex> and swaps in a freshly built one on
// reload; readers keep the old one alive for as long as they use it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"

namespace bw {

struct Zone {
  std::string code;          // e.g. "E09000023"; unique across the index
  std::string name;          // e.g. "Lewisham"; the code when the file has no name
  std::string zone_set;      // ZoneSetSource::name of the set it came from
  GeoMultiPolygon geometry;  // corrected (clockwise, closed) and valid
  GeoBox bbox;               // envelope of geometry
};

// One zone set to load.  The caller reads the file; handlers do no I/O.
struct ZoneSetSource {
  std::string name;           // label used in errors and Zone::zone_set, e.g. the file path
  std::string geojson_text;   // a GeoJSON FeatureCollection
  std::string code_property;  // feature property holding the zone code (a string)
  std::string name_property;  // feature property holding the display name (string, optional)
  // When true, a feature whose geometry is malformed or invalid is skipped
  // (and listed in ZoneIndex::skipped()) instead of failing the whole build.
  // Property errors and duplicate codes are always fatal.
  bool skip_invalid = false;
};

class ZoneIndex {
 public:
  // Parses and validates every set.  Errors are BadInput with a field such as
  // "zones[<set>].features[29] (E23000030 Hampshire)" and a message such as
  // "geometry is invalid: Geometry has invalid self-intersections".  Fails
  // on: unparsable JSON, a non-FeatureCollection, an empty set (or one whose
  // every feature was skipped), a missing or non-string code property, a
  // non-string name property, a missing or non-Polygon/MultiPolygon geometry
  // or an invalid one (unless skip_invalid), and a code seen twice within or
  // across sets.  An empty `sets` gives an empty index.
  [[nodiscard]] static Result<std::shared_ptr<const ZoneIndex>> Build(
      const std::vector<ZoneSetSource>& sets);

  ~ZoneIndex();
  ZoneIndex(const ZoneIndex&) = delete;
  ZoneIndex& operator=(const ZoneIndex&) = delete;

  // The zone with this code, or nullptr.
  const Zone* Find(std::string_view code) const;

  // Every zone whose area covers p (boundary counts as inside), ordered by
  // zone set order then code.  Empty when p is in no zone.
  std::vector<const Zone*> ZonesContaining(const GeoPoint& p) const;

  size_t size() const { return zones_.size(); }
  // All zones, ordered by zone set order then code.
  const std::vector<Zone>& zones() const { return zones_; }
  // Features dropped because of skip_invalid: (code, reason).  The reason is
  // the full error text, naming the set and feature.
  const std::vector<std::pair<std::string, std::string>>& skipped() const { return skipped_; }

 private:
  struct RTree;  // R*-tree of (bbox, index into zones_); kept out of this header

  ZoneIndex(std::vector<Zone> zones, std::vector<std::pair<std::string, std::string>> skipped);

  std::vector<Zone> zones_;
  std::vector<std::pair<std::string, std::string>> skipped_;
  std::map<std::string, size_t, std::less<>> by_code_;
  std::unique_ptr<const RTree> rtree_;
};

}  // namespace bw
