#include "handlers/geo/compact_area.h"

#include <cmath>

namespace bw {
namespace {

int32_t ToUnits(double degrees) {
  return static_cast<int32_t>(std::llround(degrees * CompactArea::kUnitsPerDegree));
}
// Division, not multiplication by 1e-7: correctly rounded, so a value with at
// most seven decimals comes back as the double nearest to it, as parsed.
double FromUnits(int32_t units) { return units / CompactArea::kUnitsPerDegree; }

}  // namespace

CompactArea::CompactArea(const GeoMultiPolygon& area) {
  size_t header = 1, points = 0;
  for (const auto& poly : area) {
    header += 2 + poly.inners().size();
    points += poly.outer().size();
    for (const auto& inner : poly.inners()) points += inner.size();
  }
  data_.reserve(header + 2 * points);
  data_.push_back(static_cast<int32_t>(area.size()));
  for (const auto& poly : area) {
    data_.push_back(static_cast<int32_t>(1 + poly.inners().size()));
    data_.push_back(static_cast<int32_t>(poly.outer().size()));
    for (const auto& inner : poly.inners()) data_.push_back(static_cast<int32_t>(inner.size()));
  }
  auto put = [&](const auto& ring) {
    for (const auto& p : ring) {
      data_.push_back(ToUnits(p.x()));
      data_.push_back(ToUnits(p.y()));
    }
  };
  for (const auto& poly : area) {
    put(poly.outer());
    for (const auto& inner : poly.inners()) put(inner);
  }
}

GeoMultiPolygon CompactArea::Expand() const {
  GeoMultiPolygon out;
  if (data_.empty()) return out;
  const size_t n_polygons = static_cast<size_t>(data_[0]);
  out.resize(n_polygons);
  // First pass: ring sizes, from the header.
  size_t h = 1;
  for (auto& poly : out) {
    const size_t rings = static_cast<size_t>(data_[h++]);
    poly.outer().resize(static_cast<size_t>(data_[h++]));
    poly.inners().resize(rings - 1);
    for (auto& inner : poly.inners()) inner.resize(static_cast<size_t>(data_[h++]));
  }
  size_t c = h;
  auto get = [&](auto& ring) {
    for (auto& p : ring) {
      p = GeoPoint(FromUnits(data_[c]), FromUnits(data_[c + 1]));
      c += 2;
    }
  };
  for (auto& poly : out) {
    get(poly.outer());
    for (auto& inner : poly.inners()) get(inner);
  }
  return out;
}

size_t CompactArea::vertex_count() const {
  if (data_.empty()) return 0;
  size_t h = 1, n = 0;
  for (int32_t p = 0; p < data_[0]; ++p) {
    const int32_t rings = data_[h++];
    for (int32_t r = 0; r < rings; ++r) n += static_cast<size_t>(data_[h++]);
  }
  return n;
}

bool CompactArea::FromWords(std::vector<int32_t> words, CompactArea* out) {
  if (words.empty()) {
    out->data_.clear();
    return true;
  }
  // Walk the header, checking every count against what is left.
  const size_t size = words.size();
  if (words[0] < 0) return false;
  size_t h = 1, points = 0;
  for (int32_t p = 0; p < words[0]; ++p) {
    if (h >= size || words[h] < 1) return false;
    const int32_t rings = words[h++];
    for (int32_t r = 0; r < rings; ++r) {
      if (h >= size || words[h] < 0) return false;
      points += static_cast<size_t>(words[h++]);
      if (points > size) return false;
    }
  }
  if (h + 2 * points != size) return false;
  out->data_ = std::move(words);
  return true;
}

GeoMultiPolygon RoundedToCompactPrecision(const GeoMultiPolygon& area) {
  return CompactArea(area).Expand();
}

}  // namespace bw
