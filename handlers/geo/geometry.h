// Geometry: the zone-shape types and the few spatial operations the engine
// needs, on top of Boost.Geometry.
//
// Coordinates are WGS84 longitude (x) and latitude (y) in degrees.  For
// containment and crossing tests they are treated as planar (cartesian)
// coordinates, which is exact enough at zone scale and matches how GeoJSON
// producers draw their rings.  Distances are computed on the WGS84 ellipsoid
// (GeodesicDistanceMeters) or in a local projection (DistanceToBoundaryMeters).
//
// GeometryFromGeoJson turns a GeoJSON (RFC 7946) Polygon or MultiPolygon into
// a GeoMultiPolygon, normalising ring orientation and closure (files are wound
// both ways) and rejecting anything malformed or invalid with a Status naming
// the offending field.  It never throws.
//
// Thread-safety: free functions over values; no shared state.  A
// GeoMultiPolygon may be read from several threads at once.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/multi_polygon.hpp>
#include <boost/geometry/geometries/point_xy.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <boost/json/value.hpp>

#include "handlers/base/status.h"

namespace bw {

// x = longitude, y = latitude, in degrees.
using GeoPoint = boost::geometry::model::d2::point_xy<double>;
using GeoBox = boost::geometry::model::box<GeoPoint>;
// Boost defaults: exterior rings clockwise, interior rings counter-clockwise,
// rings closed (first point repeated at the end).
using GeoPolygon = boost::geometry::model::polygon<GeoPoint>;
using GeoMultiPolygon = boost::geometry::model::multi_polygon<GeoPolygon>;

// Parses a GeoJSON geometry object of type "Polygon" or "MultiPolygon".
// `field` is the path of `geometry` used in error reports, e.g.
// "zones[a.geojson].features[3].geometry"; errors name sub-fields such as
// field + ".coordinates[0][3]".  Positions must be arrays of at least two
// finite numbers with longitude in [-180, 180] and latitude in [-90, 90]
// (extra elements such as altitude are ignored).  Rings need at least four
// positions; an unclosed ring is closed.  Ring orientation is corrected, then
// the result must pass boost::geometry::is_valid (the failure reason is
// reported as "geometry is invalid: <reason>").
[[nodiscard]] Result<GeoMultiPolygon> GeometryFromGeoJson(const boost::json::value& geometry,
                                                          const std::string& field);

// What a JSON value is, for the GeoJSON readers' error messages ("got an array"):
// "null", "a boolean", "a number", "a string", "an array" or "an object".
std::string JsonKindName(const boost::json::value& v);

// True when p lies inside `area` or on its boundary.
bool Covers(const GeoMultiPolygon& area, const GeoPoint& p);

// The envelope (bounding box) of `area`.
GeoBox Envelope(const GeoMultiPolygon& area);

// Prefilters for Covers and SegmentCrosses against an area's envelope `box`:
// Covers(area, p) implies BoxCovers(Envelope(area), p), and
// SegmentCrosses(area, a, b) implies SegmentMeetsBox(Envelope(area), a, b).

// True when p lies in the closed box (exact, no tolerance).
inline bool BoxCovers(const GeoBox& box, const GeoPoint& p) {
  return p.x() >= box.min_corner().x() && p.x() <= box.max_corner().x() &&
         p.y() >= box.min_corner().y() && p.y() <= box.max_corner().y();
}

// False when segment a-b certainly misses `box`: their bounding boxes are
// disjoint, or the four corners of `box` lie on one side of the line through a
// and b, more than 1e-9 degrees from it (rounding is below 1e-12, so nothing
// in the box can touch the segment, for Boost.Geometry either).  True otherwise.
inline bool SegmentMeetsBox(const GeoBox& box, const GeoPoint& a, const GeoPoint& b) {
  const double x0 = box.min_corner().x(), y0 = box.min_corner().y();
  const double x1 = box.max_corner().x(), y1 = box.max_corner().y();
  if (std::max(a.x(), b.x()) < x0 || std::min(a.x(), b.x()) > x1 || std::max(a.y(), b.y()) < y0 ||
      std::min(a.y(), b.y()) > y1) {
    return false;
  }
  // side(corner) = |a-b| * the corner's signed distance from the line, and
  // |dx| + |dy| >= |a-b|, so |side| > margin means a distance above 1e-9.
  const double dx = b.x() - a.x(), dy = b.y() - a.y();
  auto side = [&](double x, double y) { return dx * (y - a.y()) - dy * (x - a.x()); };
  const double s00 = side(x0, y0), s01 = side(x0, y1), s10 = side(x1, y0), s11 = side(x1, y1);
  const double margin = 1e-9 * (std::abs(dx) + std::abs(dy));
  const bool all_left = s00 > margin && s01 > margin && s10 > margin && s11 > margin;
  const bool all_right = s00 < -margin && s01 < -margin && s10 < -margin && s11 < -margin;
  return !all_left && !all_right;
}

// Distance in metres between two points along the WGS84 ellipsoid (Vincenty).
double GeodesicDistanceMeters(const GeoPoint& a, const GeoPoint& b);

// Cheap bounds on GeodesicDistanceMeters(a, b), for deciding "within r?" without
// iterating: lower <= GeodesicDistanceMeters(a, b) <= upper.  `lower` is the
// straight-line (chord) distance through the ellipsoid, `upper` bounds the length
// of the path linear in latitude and longitude; both are widened by a few
// centimetres plus 1e-7 of the distance, far more than Vincenty's error, so a
// comparison with a radius decided by a bound agrees with the exact distance.
struct DistanceBounds {
  double lower = 0;
  double upper = 0;
};
DistanceBounds GeodesicDistanceBounds(const GeoPoint& a, const GeoPoint& b);

// Approximate distance in metres from p to the nearest edge of any ring of
// `area` (exterior or hole), measured in a local equirectangular projection
// centred on p.  Works whether p is inside or outside; used to say how far
// inside (or outside) a zone a fix was.  Returns +infinity for an empty area.
double DistanceToBoundaryMeters(const GeoMultiPolygon& area, const GeoPoint& p);

// True when the straight (planar lon/lat) segment a->b touches or passes
// through `area`, including when either end lies inside it.
// True when the two areas overlap by more than 0.1% of the smaller one:
// neighbours that only share a border (or slivers of generalisation) do not.
bool AreasOverlap(const GeoMultiPolygon& a, const GeoMultiPolygon& b);

bool SegmentCrosses(const GeoMultiPolygon& area, const GeoPoint& a, const GeoPoint& b);

}  // namespace bw
