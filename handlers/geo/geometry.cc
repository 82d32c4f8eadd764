#include "handlers/geo/geometry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

// GCC 12 reports -Wmaybe-uninitialized false positives from inside
// Boost.Geometry's is_valid (envelope state); silence them for Boost only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/geometry/algorithms/correct.hpp>
#include <boost/geometry/algorithms/covered_by.hpp>
#include <boost/geometry/algorithms/distance.hpp>
#include <boost/geometry/algorithms/envelope.hpp>
#include <boost/geometry/algorithms/intersects.hpp>
#include <boost/geometry/algorithms/is_valid.hpp>
#include <boost/geometry/core/cs.hpp>
#include <boost/geometry/geometries/point.hpp>
#include <boost/geometry/geometries/segment.hpp>
#include <boost/geometry/srs/spheroid.hpp>
#include <boost/geometry/strategies/geographic/distance_vincenty.hpp>
#include <boost/geometry/strategies/strategies.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#pragma GCC diagnostic pop

namespace bw {
namespace {

namespace bg = boost::geometry;
namespace json = boost::json;

// IUGG mean Earth radius, used only for the local projection.
constexpr double kMeanEarthRadiusMeters = 6371008.8;
constexpr double kPi = 3.14159265358979323846;
constexpr double kDegToRad = kPi / 180.0;

std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "?";
  return std::string(buf, end);
}

std::string Index(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

std::optional<double> AsDouble(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return v.get_double();
    case json::kind::int64:
      return static_cast<double>(v.get_int64());
    case json::kind::uint64:
      return static_cast<double>(v.get_uint64());
    default:
      return std::nullopt;
  }
}

// Parses one position into `out`; `path` names it.
Status ParsePosition(const json::value& v, const std::string& path, GeoPoint& out) {
  const json::array* pos = v.if_array();
  if (pos == nullptr) {
    return Status::BadInput(
        path, "position must be an array [longitude, latitude], got " + JsonKindName(v));
  }
  if (pos->size() < 2) {
    return Status::BadInput(
        path, "position must have at least 2 numbers, got " + std::to_string(pos->size()));
  }
  double coord[2] = {0, 0};
  for (size_t i = 0; i < pos->size(); ++i) {
    std::optional<double> d = AsDouble((*pos)[i]);
    if (!d) {
      return Status::BadInput(Index(path, i),
                              "coordinate must be a number, got " + JsonKindName((*pos)[i]));
    }
    if (!std::isfinite(*d)) {
      return Status::BadInput(Index(path, i), "coordinate must be finite");
    }
    if (i < 2) coord[i] = *d;
  }
  if (coord[0] < -180.0 || coord[0] > 180.0) {
    return Status::BadInput(path,
                            "longitude " + FormatNumber(coord[0]) + " is outside [-180, 180]");
  }
  if (coord[1] < -90.0 || coord[1] > 90.0) {
    return Status::BadInput(path, "latitude " + FormatNumber(coord[1]) + " is outside [-90, 90]");
  }
  out = GeoPoint(coord[0], coord[1]);
  return Status::Ok();
}

// Parses a linear ring (array of >= 4 positions), closing it if needed.
Status ParseRing(const json::value& v, const std::string& path, GeoPolygon::ring_type& ring) {
  const json::array* arr = v.if_array();
  if (arr == nullptr) {
    return Status::BadInput(path, "ring must be an array of positions, got " + JsonKindName(v));
  }
  if (arr->size() < 4) {
    return Status::BadInput(
        path, "ring must have at least 4 positions, got " + std::to_string(arr->size()));
  }
  ring.clear();
  ring.reserve(arr->size() + 1);
  for (size_t i = 0; i < arr->size(); ++i) {
    GeoPoint p;
    if (Status s = ParsePosition((*arr)[i], Index(path, i), p); !s.ok()) return s;
    ring.push_back(p);
  }
  // An unclosed ring is accepted and closed here (bg::correct would also do it).
  if (ring.front().x() != ring.back().x() || ring.front().y() != ring.back().y()) {
    ring.push_back(ring.front());
  }
  return Status::Ok();
}

// Parses the coordinates of a Polygon: an array of >= 1 rings, exterior first.
Status ParsePolygon(const json::value& v, const std::string& path, GeoPolygon& poly) {
  const json::array* rings = v.if_array();
  if (rings == nullptr) {
    return Status::BadInput(
        path, "polygon coordinates must be an array of rings, got " + JsonKindName(v));
  }
  if (rings->empty()) return Status::BadInput(path, "polygon has no rings");
  poly.clear();
  if (Status s = ParseRing((*rings)[0], Index(path, 0), poly.outer()); !s.ok()) return s;
  poly.inners().resize(rings->size() - 1);
  for (size_t i = 1; i < rings->size(); ++i) {
    if (Status s = ParseRing((*rings)[i], Index(path, i), poly.inners()[i - 1]); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

double DistanceSquaredToSegment(double ax, double ay, double bx, double by) {
  // Distance from the origin to segment a-b.
  const double dx = bx - ax;
  const double dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  double t = 0.0;
  if (len2 > 0.0) t = std::clamp(-(ax * dx + ay * dy) / len2, 0.0, 1.0);
  const double px = ax + t * dx;
  const double py = ay + t * dy;
  return px * px + py * py;
}

}  // namespace

std::string JsonKindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "unknown";
}

Result<GeoMultiPolygon> GeometryFromGeoJson(const json::value& geometry, const std::string& field) {
  const json::object* obj = geometry.if_object();
  if (obj == nullptr) {
    return Status::BadInput(field,
                            "must be a GeoJSON geometry object, got " + JsonKindName(geometry));
  }
  const json::value* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return Status::BadInput(field + ".type", "must be a string (\"Polygon\" or \"MultiPolygon\")");
  }
  const std::string_view type_name = type->get_string();
  if (type_name != "Polygon" && type_name != "MultiPolygon") {
    return Status::BadInput(field + ".type", "\"" + std::string(type_name) +
                                                 "\" is not supported; expected \"Polygon\" or "
                                                 "\"MultiPolygon\"");
  }
  const std::string coords_path = field + ".coordinates";
  const json::value* coords = obj->if_contains("coordinates");
  if (coords == nullptr) return Status::BadInput(coords_path, "is missing");

  GeoMultiPolygon result;
  if (type_name == "Polygon") {
    result.resize(1);
    if (Status s = ParsePolygon(*coords, coords_path, result[0]); !s.ok()) return s;
  } else {
    const json::array* polys = coords->if_array();
    if (polys == nullptr) {
      return Status::BadInput(coords_path,
                              "must be an array of polygons, got " + JsonKindName(*coords));
    }
    if (polys->empty()) return Status::BadInput(coords_path, "multipolygon has no polygons");
    result.resize(polys->size());
    for (size_t i = 0; i < polys->size(); ++i) {
      if (Status s = ParsePolygon((*polys)[i], Index(coords_path, i), result[i]); !s.ok()) {
        return s;
      }
    }
  }

  try {
    bg::correct(result);
    std::string failure;
    if (!bg::is_valid(result, failure)) {
      return Status::BadInput(field, "geometry is invalid: " + failure);
    }
  } catch (const std::exception& e) {
    return Status::BadInput(field, std::string("geometry is invalid: ") + e.what());
  }
  return result;
}

bool Covers(const GeoMultiPolygon& area, const GeoPoint& p) { return bg::covered_by(p, area); }

GeoBox Envelope(const GeoMultiPolygon& area) { return bg::return_envelope<GeoBox>(area); }

double GeodesicDistanceMeters(const GeoPoint& a, const GeoPoint& b) {
  using GeographicPoint = bg::model::point<double, 2, bg::cs::geographic<bg::degree>>;
  const GeographicPoint ga(a.x(), a.y());
  const GeographicPoint gb(b.x(), b.y());
  // srs::spheroid<double>'s default is WGS84.
  const bg::strategy::distance::vincenty<bg::srs::spheroid<double>> strategy{
      bg::srs::spheroid<double>()};
  return bg::distance(ga, gb, strategy);
}

DistanceBounds GeodesicDistanceBounds(const GeoPoint& a, const GeoPoint& b) {
  // WGS84, as srs::spheroid<double>() used by GeodesicDistanceMeters.
  constexpr double kA = 6378137.0;
  constexpr double kF = 1.0 / 298.257223563;
  constexpr double kE2 = kF * (2.0 - kF);
  const double phi1 = a.y() * kDegToRad, phi2 = b.y() * kDegToRad;
  double dlon = b.x() - a.x();
  if (dlon > 180.0) dlon -= 360.0;
  if (dlon < -180.0) dlon += 360.0;
  const double s1 = std::sin(phi1), c1 = std::cos(phi1);
  const double s2 = std::sin(phi2), c2 = std::cos(phi2);
  const double w1 = 1.0 - kE2 * s1 * s1, w2 = 1.0 - kE2 * s2 * s2;
  const double n1 = kA / std::sqrt(w1), n2 = kA / std::sqrt(w2);  // prime vertical radii

  // Lower: the chord between the points in earth-centred coordinates, with
  // point a on the x-z plane (only the longitude difference matters).
  const double dl = dlon * kDegToRad;
  const double x1 = n1 * c1, z1 = n1 * (1.0 - kE2) * s1;
  const double x2 = n2 * c2 * std::cos(dl), y2 = n2 * c2 * std::sin(dl), z2 = n2 * (1.0 - kE2) * s2;
  const double chord = std::sqrt((x2 - x1) * (x2 - x1) + y2 * y2 + (z2 - z1) * (z2 - z1));

  // Upper: along the path linear in (latitude, longitude) the speed is at most
  // hypot(M_max * dphi, P_max * dlon): the meridian radius M grows and the
  // parallel radius P = N cos(phi) shrinks with |latitude|.
  const double w_far = std::min(w1, w2);  // the latitude nearer a pole
  const double m_max = kA * (1.0 - kE2) / (w_far * std::sqrt(w_far));
  double p_max = kA;  // the path crosses the equator
  if ((phi1 >= 0) == (phi2 >= 0)) p_max = std::abs(phi1) < std::abs(phi2) ? n1 * c1 : n2 * c2;
  const double path = std::hypot(m_max * (phi2 - phi1), p_max * dl);

  constexpr double kSlackM = 0.05, kSlackRel = 1e-7;
  return {std::max(0.0, chord * (1.0 - kSlackRel) - kSlackM), path * (1.0 + kSlackRel) + kSlackM};
}

double DistanceToBoundaryMeters(const GeoMultiPolygon& area, const GeoPoint& p) {
  const double lon0 = p.x();
  const double lat0 = p.y();
  const double ky = kMeanEarthRadiusMeters * kDegToRad;
  const double kx = ky * std::cos(lat0 * kDegToRad);
  auto project = [&](const GeoPoint& q, double& x, double& y) {
    double dlon = q.x() - lon0;
    if (dlon > 180.0) dlon -= 360.0;
    if (dlon < -180.0) dlon += 360.0;
    x = dlon * kx;
    y = (q.y() - lat0) * ky;
  };
  double best = std::numeric_limits<double>::infinity();
  auto scan_ring = [&](const GeoPolygon::ring_type& ring) {
    if (ring.empty()) return;
    double ax, ay;
    project(ring.front(), ax, ay);
    if (ring.size() == 1) best = std::min(best, ax * ax + ay * ay);
    for (size_t i = 1; i < ring.size(); ++i) {
      double bx, by;
      project(ring[i], bx, by);
      best = std::min(best, DistanceSquaredToSegment(ax, ay, bx, by));
      ax = bx;
      ay = by;
    }
  };
  for (const GeoPolygon& poly : area) {
    scan_ring(poly.outer());
    for (const auto& inner : poly.inners()) scan_ring(inner);
  }
  return std::sqrt(best);
}

bool SegmentCrosses(const GeoMultiPolygon& area, const GeoPoint& a, const GeoPoint& b) {
  const bg::model::segment<GeoPoint> segment(a, b);
  return bg::intersects(segment, area);
}

bool AreasOverlap(const GeoMultiPolygon& a, const GeoMultiPolygon& b) {
  if (!boost::geometry::intersects(a, b)) return false;
  GeoMultiPolygon common;
  boost::geometry::intersection(a, b, common);
  const double smaller = std::min(std::abs(boost::geometry::area(a)),
                                  std::abs(boost::geometry::area(b)));
  return std::abs(boost::geometry::area(common)) > 0.001 * smaller;
}

}  // namespace bw
