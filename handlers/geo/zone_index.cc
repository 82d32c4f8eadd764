#include "handlers/geo/zone_index.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <new>

// GCC 12 reports -Wmaybe-uninitialized false positives from inside
// Boost.Geometry; silence them for Boost only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/geometry/algorithms/envelope.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <boost/geometry/strategies/strategies.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#pragma GCC diagnostic pop

namespace bw {

namespace bgi = boost::geometry::index;
namespace json = boost::json;

struct ZoneIndex::RTree {
  using Value = std::pair<GeoBox, size_t>;
  explicit RTree(const std::vector<Value>& values) : tree(values.begin(), values.end()) {}
  bgi::rtree<Value, bgi::rstar<16>> tree;
};

namespace {

using Skipped = std::vector<std::pair<std::string, std::string>>;

// Parses `text`, reporting the line and column of a syntax error.
Status ParseJson(const std::string& text, const std::string& field, json::storage_ptr storage,
                 json::value& out) {
  json::stream_parser parser(storage);
  boost::system::error_code ec;
  const size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    const size_t upto = std::min(consumed, text.size());
    const size_t line = 1 + std::count(text.begin(), text.begin() + upto, '\n');
    const size_t line_start = text.rfind('\n', upto == 0 ? 0 : upto - 1);
    const size_t column = line_start == std::string::npos ? upto + 1 : upto - line_start;
    return Status::BadInput(field, "not valid JSON: " + ec.message() + " at line " +
                                       std::to_string(line) + " column " + std::to_string(column));
  }
  out = parser.release();
  return Status::Ok();
}

// Where each code was first seen, for duplicate reports.
using SeenCodes = std::map<std::string, std::string, std::less<>>;

// Loads one FeatureCollection, appending to `zones` and `skipped`.
Status LoadSet(const ZoneSetSource& set, SeenCodes& seen, std::vector<Zone>& zones,
               Skipped& skipped) {
  const std::string set_path = "zones[" + set.name + "]";
  if (set.code_property.empty()) {
    return Status::BadInput(set_path, "no code property configured for this zone set");
  }
  json::monotonic_resource arena;
  json::value root;
  if (Status s = ParseJson(set.geojson_text, set_path, &arena, root); !s.ok()) return s;

  const json::object* collection = root.if_object();
  if (collection == nullptr) {
    return Status::BadInput(
        set_path, "must be a GeoJSON FeatureCollection object, got " + JsonKindName(root));
  }
  const json::value* type = collection->if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "FeatureCollection") {
    std::string got = type == nullptr     ? std::string("nothing")
                      : type->is_string() ? "\"" + std::string(type->get_string()) + "\""
                                          : JsonKindName(*type);
    return Status::BadInput(set_path + ".type", "must be \"FeatureCollection\", got " + got);
  }
  // Other members ("crs", "name", "bbox"...) are tolerated and ignored; the
  // legacy "crs" member in particular appears in files from older tools.
  const json::value* features_value = collection->if_contains("features");
  if (features_value == nullptr || !features_value->is_array()) {
    return Status::BadInput(
        set_path + ".features",
        "must be an array of features, got " +
            (features_value == nullptr ? std::string("nothing") : JsonKindName(*features_value)));
  }
  const json::array& features = features_value->get_array();
  if (features.empty()) return Status::BadInput(set_path + ".features", "zone set has no features");

  const size_t first_zone = zones.size();
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string feature_path = set_path + ".features[" + std::to_string(i) + "]";
    const json::object* feature = features[i].if_object();
    if (feature == nullptr) {
      return Status::BadInput(feature_path,
                              "must be a GeoJSON Feature object, got " + JsonKindName(features[i]));
    }
    const json::value* feature_type = feature->if_contains("type");
    if (feature_type == nullptr || !feature_type->is_string() ||
        feature_type->get_string() != "Feature") {
      return Status::BadInput(feature_path + ".type", "must be \"Feature\"");
    }

    // Identity first: property errors are fatal even with skip_invalid.
    const json::value* props_value = feature->if_contains("properties");
    const json::object* props = props_value == nullptr ? nullptr : props_value->if_object();
    const std::string code_path = feature_path + ".properties." + set.code_property;
    const json::value* code_value =
        props == nullptr ? nullptr : props->if_contains(set.code_property);
    if (code_value == nullptr || code_value->is_null()) {
      return Status::BadInput(code_path, "zone code property is missing");
    }
    if (!code_value->is_string() || code_value->get_string().empty()) {
      return Status::BadInput(code_path, "zone code must be a non-empty string, got " +
                                             (code_value->is_string() ? std::string("\"\"")
                                                                      : JsonKindName(*code_value)));
    }
    Zone zone;
    zone.code = std::string(code_value->get_string());
    zone.name = zone.code;
    zone.zone_set = set.name;
    if (!set.name_property.empty()) {
      const json::value* name_value = props->if_contains(set.name_property);
      if (name_value != nullptr && !name_value->is_null()) {
        if (!name_value->is_string()) {
          return Status::BadInput(
              feature_path + ".properties." + set.name_property,
              "zone name for " + zone.code + " must be a string, got " + JsonKindName(*name_value));
        }
        if (!name_value->get_string().empty()) zone.name = std::string(name_value->get_string());
      }
    }
    std::string label = feature_path + " (" + zone.code;
    if (zone.name != zone.code) label += " " + zone.name;
    label += ")";

    if (auto [it, inserted] = seen.emplace(zone.code, label); !inserted) {
      return Status::BadInput(
          label, "duplicate zone code " + zone.code + ", already defined at " + it->second);
    }

    const json::value* geometry_value = feature->if_contains("geometry");
    static const json::value kNull;
    Result<GeoMultiPolygon> geometry =
        GeometryFromGeoJson(geometry_value == nullptr ? kNull : *geometry_value, "geometry");
    if (!geometry.ok()) {
      const Status& inner = geometry.status();
      Status error = Status::BadInput(
          label, inner.field() == "geometry" && inner.message().rfind("geometry", 0) == 0
                     ? inner.message()
                     : inner.field() + ": " + inner.message());
      if (!set.skip_invalid) return error;
      skipped.emplace_back(zone.code, error.ToString());
      continue;
    }
    zone.geometry = std::move(geometry).value();
    boost::geometry::envelope(zone.geometry, zone.bbox);
    zones.push_back(std::move(zone));
  }
  if (zones.size() == first_zone) {
    return Status::BadInput(set_path, "no usable zones: all " + std::to_string(features.size()) +
                                          " features were skipped as invalid");
  }
  std::sort(zones.begin() + first_zone, zones.end(),
            [](const Zone& a, const Zone& b) { return a.code < b.code; });
  return Status::Ok();
}

}  // namespace

ZoneIndex::ZoneIndex(std::vector<Zone> zones, Skipped skipped)
    : zones_(std::move(zones)), skipped_(std::move(skipped)) {
  std::vector<RTree::Value> values;
  values.reserve(zones_.size());
  for (size_t i = 0; i < zones_.size(); ++i) {
    by_code_.emplace(zones_[i].code, i);
    values.emplace_back(zones_[i].bbox, i);
  }
  rtree_ = std::make_unique<const RTree>(values);
}

ZoneIndex::~ZoneIndex() = default;

Result<std::shared_ptr<const ZoneIndex>> ZoneIndex::Build(const std::vector<ZoneSetSource>& sets) {
  try {
    std::vector<Zone> zones;
    Skipped skipped;
    SeenCodes seen;
    for (const ZoneSetSource& set : sets) {
      if (Status s = LoadSet(set, seen, zones, skipped); !s.ok()) return s;
    }
    return std::shared_ptr<const ZoneIndex>(new ZoneIndex(std::move(zones), std::move(skipped)));
  } catch (const std::bad_alloc&) {
    return Status::Internal("building zone index: out of memory");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("building zone index: ") + e.what());
  } catch (...) {
    return Status::Internal("building zone index: unknown exception");
  }
}

const Zone* ZoneIndex::Find(std::string_view code) const {
  auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &zones_[it->second];
}

std::vector<const Zone*> ZoneIndex::ZonesContaining(const GeoPoint& p) const {
  std::vector<RTree::Value> candidates;
  rtree_->tree.query(bgi::intersects(p), std::back_inserter(candidates));
  std::vector<size_t> hits;
  hits.reserve(candidates.size());
  for (const RTree::Value& candidate : candidates) {
    if (Covers(zones_[candidate.second].geometry, p)) hits.push_back(candidate.second);
  }
  // zones_ is ordered by set then code, so index order is the promised order.
  std::sort(hits.begin(), hits.end());
  std::vector<const Zone*> result;
  result.reserve(hits.size());
  for (size_t i : hits) result.push_back(&zones_[i]);
  return result;
}

}  // namespace bw
