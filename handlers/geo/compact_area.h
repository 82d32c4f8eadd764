// CompactArea: an inline zone's polygons held once, compactly, for a person's
// instrument: every vertex as a pair of int32 in units of 1e-7 degree (about
// 1.1 cm of latitude, at most 1.1 cm of longitude), in one allocation.  A
// 64-vertex ring takes 8 bytes a vertex, where Boost.Geometry points take 16
// and a parsed JSON array several times that.
//
// Precision.  A coordinate is stored as round(value * 1e7) and read back as
// stored / 1e7 (a correctly rounded division), so a coordinate written with at
// most seven decimals (what RFC 7946 producers write: it recommends six) reads
// back as exactly the double it was parsed as, and every containment and
// crossing decision is the one the parsed polygon gives.  A coordinate written
// with more decimals moves by at most 5e-8 degree (5.6 mm of latitude): a fix
// judged differently would have to lie within 6 mm of the boundary, a hundred
// times closer than a GPS fix's own accuracy (metres), where the decision is
// noise either way.  The decoder rounds before it validates and before it
// computes the zone's envelope (handlers/instruments/instrument.cc), so the
// envelope prefilter bounds exactly the geometry that is matched.
//
// Matching expands the area into a GeoMultiPolygon (Expand) only for a fix that
// meets its envelope; the envelope is kept beside it (FixPrefilter::box).
//
// Thread-safety: an immutable value once built; const methods may be called
// from several threads at once.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "handlers/geo/geometry.h"

namespace bw {

class CompactArea {
 public:
  // Units per degree of the stored coordinates.
  static constexpr double kUnitsPerDegree = 1e7;

  CompactArea() = default;
  // `area` rounded to 1e-7 degree.  Coordinates must be within [-180, 180]
  // (GeometryFromGeoJson checks it).
  explicit CompactArea(const GeoMultiPolygon& area);

  // The polygons as Boost.Geometry values (each coordinate stored / 1e7).
  GeoMultiPolygon Expand() const;

  bool empty() const { return data_.empty(); }
  size_t vertex_count() const;
  // The stored words (counts, then coordinates), for a snapshot to write and
  // FromWords to read back; FromWords checks the counts against the size.
  const std::vector<int32_t>& words() const { return data_; }
  [[nodiscard]] static bool FromWords(std::vector<int32_t> words, CompactArea* out);

  bool operator==(const CompactArea&) const = default;

 private:
  // [n_polygons, then per polygon: n_rings, then per ring: n_points], then the
  // points of every ring in that order as (x, y) pairs.
  std::vector<int32_t> data_;
};

// `area` with every coordinate rounded as CompactArea stores it.
GeoMultiPolygon RoundedToCompactPrecision(const GeoMultiPolygon& area);

}  // namespace bw
