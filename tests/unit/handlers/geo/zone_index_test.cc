// Tests for handlers/geometry and handlers/zone_index, against the real ONS /
// GLA boundary data in the shared data directory (see its README.md).

#include "handlers/geo/zone_index.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"

namespace bw {
namespace {

// Like gmock's HasSubstr, without needing gmock.
::testing::AssertionResult HasText(const std::string& text, const std::string& expected) {
  if (text.find(expected) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\"\n  does not contain \"" << expected << "\"";
}
std::filesystem::path DataDir() {
#ifdef BREACHWATCH_SHARED_DATA_DIR
  return std::filesystem::path(BREACHWATCH_SHARED_DATA_DIR);
#else
  // <repo>/tests/unit/handlers/geo/zone_index_test.cc -> <repo>/../shared/data
  std::filesystem::path repo = std::filesystem::path(__FILE__);
  for (int i = 0; i < 5; ++i) repo = repo.parent_path();
  return repo / ".." / "shared" / "data";
#endif
}

std::optional<std::string> ReadDataFile(const std::string& name) {
  std::ifstream in(DataDir() / name, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads a data file into a zone set source; fails the current test if missing.
ZoneSetSource DataSource(const std::string& file, const std::string& code_property,
                         const std::string& name_property, bool skip_invalid = false) {
  std::optional<std::string> text = ReadDataFile(file);
  EXPECT_TRUE(text.has_value()) << "cannot read " << (DataDir() / file);
  return ZoneSetSource{file, text.value_or(""), code_property, name_property, skip_invalid};
}

ZoneSetSource FullResBoroughs() {
  return DataSource("london_boroughs_excl_mhw_wgs84.geojson", "GSS_CODE", "NAME");
}
ZoneSetSource Lad22Boroughs() {
  return DataSource("london_lad22_bgc_wgs84.geojson", "LAD22CD", "LAD22NM");
}

// Builds and returns the index, or nullptr after recording a failure.
std::shared_ptr<const ZoneIndex> BuildOrFail(const std::vector<ZoneSetSource>& sets) {
  Result<std::shared_ptr<const ZoneIndex>> index = ZoneIndex::Build(sets);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  if (!index.ok()) return nullptr;
  return *index;
}

struct GroundTruthRow {
  std::string area_code;
  std::string area_name;
  double lon = 0;
  double lat = 0;
  std::string borough_gss;
  std::string borough_name;
};

// area_code,area_name,lon,lat,borough_gss,borough_name (no quoting in these files).
std::vector<GroundTruthRow> ReadGroundTruth(const std::string& file) {
  std::vector<GroundTruthRow> rows;
  std::optional<std::string> text = ReadDataFile(file);
  EXPECT_TRUE(text.has_value()) << "cannot read " << (DataDir() / file);
  if (!text) return rows;
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("area_code,area_name,lon,lat,borough_gss,borough_name", 0), 0u) << line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::istringstream fields(line);
    std::string col;
    while (std::getline(fields, col, ',')) cols.push_back(col);
    EXPECT_EQ(cols.size(), 6u) << line;
    if (cols.size() != 6) continue;
    rows.push_back({cols[0], cols[1], std::stod(cols[2]), std::stod(cols[3]), cols[4], cols[5]});
  }
  return rows;
}

// Returns how many rows fall in exactly their stated borough; logs the others.
size_t CountExactMatches(const ZoneIndex& index, const std::vector<GroundTruthRow>& rows) {
  size_t matches = 0;
  size_t reported = 0;
  for (const GroundTruthRow& row : rows) {
    std::vector<const Zone*> found = index.ZonesContaining(GeoPoint(row.lon, row.lat));
    if (found.size() == 1 && found[0]->code == row.borough_gss) {
      ++matches;
      continue;
    }
    if (++reported <= 20) {
      std::string got;
      for (const Zone* z : found) got += " " + z->code + " (" + z->name + ")";
      ADD_FAILURE() << row.area_code << " " << row.area_name << " at [" << row.lon << ", "
                    << row.lat << "] expected " << row.borough_gss << " (" << row.borough_name
                    << "), got" << (got.empty() ? " no zone" : got);
    }
  }
  return matches;
}

// A FeatureCollection with one feature, for malformed-input tests.
std::string OneFeature(const std::string& properties, const std::string& geometry) {
  return R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":)" + properties +
         R"(,"geometry":)" + geometry + "}]}";
}

const char kSquareGeometry[] =
    R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})";

ZoneSetSource TextSource(const std::string& name, const std::string& text) {
  return ZoneSetSource{name, text, "CODE", "NAME", false};
}

Status BuildStatus(const std::string& text) {
  Result<std::shared_ptr<const ZoneIndex>> index =
      ZoneIndex::Build({TextSource("bad.geojson", text)});
  if (index.ok()) return Status::Ok();
  return index.status();
}

Result<GeoMultiPolygon> ParseGeometry(const std::string& json_text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json_text, ec);
  EXPECT_FALSE(ec) << ec.message();
  return GeometryFromGeoJson(v, "g");
}

// --- Ground truth -----------------------------------------------------------------------------

struct BoroughFile {
  const char* file;
  const char* code_property;
  const char* name_property;
};

void PrintTo(const BoroughFile& f, std::ostream* os) { *os << f.file; }

class GroundTruthTest : public ::testing::TestWithParam<BoroughFile> {};

TEST_P(GroundTruthTest, EveryMsoaCentroidIsInExactlyItsStatedBorough) {
  auto index = BuildOrFail(
      {DataSource(GetParam().file, GetParam().code_property, GetParam().name_property)});
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 33u);
  std::vector<GroundTruthRow> rows = ReadGroundTruth("london_msoa11_pwc_groundtruth.csv");
  ASSERT_EQ(rows.size(), 983u);
  EXPECT_EQ(CountExactMatches(*index, rows), 983u);
}

TEST_P(GroundTruthTest, EveryLsoaCentroidIsInExactlyItsStatedBorough) {
  auto index = BuildOrFail(
      {DataSource(GetParam().file, GetParam().code_property, GetParam().name_property)});
  ASSERT_NE(index, nullptr);
  std::vector<GroundTruthRow> rows = ReadGroundTruth("london_lsoa11_pwc_groundtruth.csv");
  ASSERT_EQ(rows.size(), 4835u);
  EXPECT_EQ(CountExactMatches(*index, rows), 4835u);
}

INSTANTIATE_TEST_SUITE_P(
    BothBoroughFiles, GroundTruthTest,
    ::testing::Values(BoroughFile{"london_lad22_bgc_wgs84.geojson", "LAD22CD", "LAD22NM"},
                      BoroughFile{"london_boroughs_excl_mhw_wgs84.geojson", "GSS_CODE", "NAME"}),
    [](const ::testing::TestParamInfo<BoroughFile>& info) {
      return std::string(info.index == 0 ? "Lad22Generalised" : "FullResolutionExclMhw");
    });

// --- Real-data behaviour ---------------------------------------------------------------------

TEST(ZoneIndexTest, ThamesAtWestminsterBridgeIsInNoBorough) {
  auto index = BuildOrFail({FullResBoroughs()});
  ASSERT_NE(index, nullptr);
  const GeoPoint bridge(-0.1218, 51.5009);
  std::vector<const Zone*> found = index->ZonesContaining(bridge);
  EXPECT_TRUE(found.empty()) << "first match: " << found.front()->code;
  // Both banks are in boroughs, so the empty answer is the river, not a broken index.
  const GeoPoint parliament(-0.1246, 51.4995);
  const GeoPoint county_hall(-0.1195, 51.5015);
  ASSERT_EQ(index->ZonesContaining(parliament).size(), 1u);
  EXPECT_EQ(index->ZonesContaining(parliament)[0]->code, "E09000033");  // Westminster
  ASSERT_EQ(index->ZonesContaining(county_hall).size(), 1u);
  EXPECT_EQ(index->ZonesContaining(county_hall)[0]->code, "E09000022");  // Lambeth
  // The bridge is within a river's width of the Westminster boundary.
  const Zone* westminster = index->Find("E09000033");
  ASSERT_NE(westminster, nullptr);
  const double d = DistanceToBoundaryMeters(westminster->geometry, bridge);
  EXPECT_GT(d, 5.0);
  EXPECT_LT(d, 200.0);
}

TEST(ZoneIndexTest, BoundaryVertexCountsAsInside) {
  auto index = BuildOrFail({Lad22Boroughs()});
  ASSERT_NE(index, nullptr);
  const Zone* lewisham = index->Find("E09000023");
  ASSERT_NE(lewisham, nullptr);
  ASSERT_FALSE(lewisham->geometry.empty());
  // Every vertex of the outer ring is on the boundary and must count as inside.
  size_t vertices = 0;
  for (const GeoPoint& vertex : lewisham->geometry[0].outer()) {
    ++vertices;
    ASSERT_TRUE(Covers(lewisham->geometry, vertex)) << vertex.x() << "," << vertex.y();
    std::vector<const Zone*> found = index->ZonesContaining(vertex);
    bool has_lewisham = false;
    for (const Zone* z : found) has_lewisham |= z->code == "E09000023";
    ASSERT_TRUE(has_lewisham) << vertex.x() << "," << vertex.y();
  }
  EXPECT_GT(vertices, 100u);
}

TEST(ZoneIndexTest, PoliceForceAreasRejectHampshireUnlessSkipping) {
  Result<std::shared_ptr<const ZoneIndex>> strict =
      ZoneIndex::Build({DataSource("police_force_areas_dec2020_ew.geojson", "PFA20CD", "PFA20NM")});
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), ErrorCode::kBadInput);
  const std::string error = strict.status().ToString();
  EXPECT_TRUE(HasText(error, "zones[police_force_areas_dec2020_ew.geojson].features[29]"));
  EXPECT_TRUE(HasText(error, "(E23000030 Hampshire)"));
  EXPECT_TRUE(HasText(error, "geometry is invalid: Geometry has invalid self-intersections"));

  auto lenient = BuildOrFail(
      {DataSource("police_force_areas_dec2020_ew.geojson", "PFA20CD", "PFA20NM", true)});
  ASSERT_NE(lenient, nullptr);
  EXPECT_EQ(lenient->size(), 42u);
  ASSERT_EQ(lenient->skipped().size(), 1u);
  EXPECT_EQ(lenient->skipped()[0].first, "E23000030");
  EXPECT_TRUE(HasText(lenient->skipped()[0].second, "Hampshire"));
  EXPECT_EQ(lenient->Find("E23000030"), nullptr);
  const Zone* met = lenient->Find("E23000001");
  ASSERT_NE(met, nullptr);
  EXPECT_EQ(met->name, "Metropolitan Police");
  // Trafalgar Square is policed by the Met (the City of London force is E23000034).
  std::vector<const Zone*> found = lenient->ZonesContaining(GeoPoint(-0.1281, 51.5080));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]->code, "E23000001");
}

TEST(ZoneIndexTest, UkLad17HasThreeInvalidGeometries) {
  Result<std::shared_ptr<const ZoneIndex>> strict =
      ZoneIndex::Build({DataSource("uk_lad17_ultragen.geojson", "lad17cd", "lad17nm")});
  ASSERT_FALSE(strict.ok());
  EXPECT_TRUE(HasText(strict.status().ToString(), "geometry is invalid"));

  auto lenient = BuildOrFail({DataSource("uk_lad17_ultragen.geojson", "lad17cd", "lad17nm", true)});
  ASSERT_NE(lenient, nullptr);
  EXPECT_EQ(lenient->size(), 388u);
  std::set<std::string> skipped;
  for (const auto& [code, reason] : lenient->skipped()) {
    skipped.insert(code);
    EXPECT_TRUE(HasText(reason, "geometry is invalid")) << code;
  }
  EXPECT_EQ(skipped, (std::set<std::string>{"E07000010", "E07000118", "E07000123"}));
  EXPECT_TRUE(HasText(strict.status().ToString(), "(E07000010 Fenland)"));
}

TEST(ZoneIndexTest, LondonLsoa2021SetLoadsAndPlacesLsoaCentroidsInTheirBorough) {
  auto lsoa = BuildOrFail({DataSource("london_lsoa21_bgc_wgs84.geojson", "LSOA21CD", "LSOA21NM")});
  ASSERT_NE(lsoa, nullptr);
  EXPECT_EQ(lsoa->size(), 4994u);
  EXPECT_TRUE(lsoa->skipped().empty());
  const Zone* first = lsoa->Find("E01000001");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->name, "City of London 001A");
}

TEST(ZoneIndexTest, SegmentAcrossLewishamCrossesIt) {
  auto index = BuildOrFail({Lad22Boroughs()});
  ASSERT_NE(index, nullptr);
  const Zone* lewisham = index->Find("E09000023");
  ASSERT_NE(lewisham, nullptr);
  EXPECT_EQ(lewisham->name, "Lewisham");
  const GeoPoint west(-0.12, 51.45);  // Lambeth
  const GeoPoint east(0.08, 51.45);   // Bexley
  const GeoPoint middle(-0.02, 51.45);
  ASSERT_FALSE(Covers(lewisham->geometry, west));
  ASSERT_FALSE(Covers(lewisham->geometry, east));
  ASSERT_TRUE(Covers(lewisham->geometry, middle));
  EXPECT_TRUE(SegmentCrosses(lewisham->geometry, west, east));
  EXPECT_TRUE(SegmentCrosses(lewisham->geometry, east, west));
  // A segment running north of Lewisham does not cross it.
  EXPECT_FALSE(SegmentCrosses(lewisham->geometry, GeoPoint(-0.12, 51.53), GeoPoint(0.08, 51.53)));
}

TEST(ZoneIndexTest, FullResolutionLoadIsFast) {
  ZoneSetSource source = FullResBoroughs();
  const auto start = std::chrono::steady_clock::now();
  auto index = BuildOrFail({source});
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_NE(index, nullptr);
  std::cout << "[ info     ] london_boroughs_excl_mhw_wgs84.geojson built in " << ms << " ms\n";
  RecordProperty("full_res_build_ms", static_cast<int>(ms));
  size_t vertices = 0;
  for (const Zone& z : index->zones()) {
    for (const GeoPolygon& poly : z.geometry) {
      vertices += poly.outer().size();
      for (const auto& inner : poly.inners()) vertices += inner.size();
    }
  }
  EXPECT_GT(vertices, 48000u);
  // Well under a second optimised; generous so unoptimised/sanitizer builds pass.
  EXPECT_LT(ms, 5000.0);
}

TEST(ZoneIndexTest, ConcurrentReadersAgree) {
  auto index = BuildOrFail({Lad22Boroughs()});
  ASSERT_NE(index, nullptr);
  std::vector<GroundTruthRow> rows = ReadGroundTruth("london_msoa11_pwc_groundtruth.csv");
  ASSERT_FALSE(rows.empty());
  std::vector<size_t> matches(2, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < matches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (const GroundTruthRow& row : rows) {
        std::vector<const Zone*> found = index->ZonesContaining(GeoPoint(row.lon, row.lat));
        if (found.size() == 1 && found[0]->code == row.borough_gss) ++matches[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(matches[0], rows.size());
  EXPECT_EQ(matches[1], rows.size());
}

// --- Malformed input --------------------------------------------------------------------------

struct BadCase {
  const char* what;
  std::string text;
  std::vector<std::string> expected;  // substrings of Status::ToString()
};

TEST(ZoneIndexTest, MalformedInputsNameTheField) {
  const std::string props = R"({"CODE":"Z1","NAME":"Zone one"})";
  const std::vector<BadCase> cases = {
      {"not JSON",
       R"({"type": "FeatureCollection", "features": [)",
       {"zones[bad.geojson]", "not valid JSON", "line 1"}},
      {"not JSON at all", "hello", {"zones[bad.geojson]", "not valid JSON"}},
      {"array root", "[]", {"zones[bad.geojson]", "FeatureCollection"}},
      {"a Feature, not a FeatureCollection",
       R"({"type":"Feature","properties":{"CODE":"Z1"},"geometry":null})",
       {"zones[bad.geojson].type", "FeatureCollection", "\"Feature\""}},
      {"features not an array",
       R"({"type":"FeatureCollection","features":{}})",
       {"zones[bad.geojson].features", "must be an array"}},
      {"no features",
       R"({"type":"FeatureCollection","features":[]})",
       {"zones[bad.geojson].features", "no features"}},
      {"feature without code property",
       OneFeature(R"({"NAME":"Zone one"})", kSquareGeometry),
       {"zones[bad.geojson].features[0].properties.CODE", "missing"}},
      {"feature without properties",
       OneFeature("null", kSquareGeometry),
       {"features[0].properties.CODE", "missing"}},
      {"numeric code",
       OneFeature(R"({"CODE":17})", kSquareGeometry),
       {"features[0].properties.CODE", "non-empty string", "a number"}},
      {"numeric name",
       OneFeature(R"({"CODE":"Z1","NAME":3})", kSquareGeometry),
       {"features[0].properties.NAME", "Z1", "must be a string"}},
      {"wrong geometry type",
       OneFeature(props, R"({"type":"Point","coordinates":[0,0]})"),
       {"zones[bad.geojson].features[0] (Z1 Zone one)", "geometry.type", "\"Point\""}},
      {"GeometryCollection",
       OneFeature(props, R"({"type":"GeometryCollection","geometries":[]})"),
       {"(Z1 Zone one)", "geometry.type", "GeometryCollection"}},
      {"null geometry", OneFeature(props, "null"), {"(Z1 Zone one)", "geometry", "null"}},
      {"latitude out of range",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,95],[0,1],[0,0]]]})"),
       {"(Z1 Zone one)", "geometry.coordinates[0][2]", "latitude 95 is outside [-90, 90]"}},
      {"longitude out of range",
       OneFeature(props, R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],)"
                         R"([[[0,0],[1,0],[181,1],[0,0]]]]})"),
       {"geometry.coordinates[1][0][2]", "longitude 181 is outside [-180, 180]"}},
      {"ring of 3 points",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]})"),
       {"(Z1 Zone one)", "geometry.coordinates[0]", "at least 4 positions, got 3"}},
      {"string coordinate",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1,"0"],[1,1],[0,1],[0,0]]]})"),
       {"geometry.coordinates[0][1][1]", "must be a number", "a string"}},
      {"infinite coordinate",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1e999,0],[1,1],[0,0]]]})"),
       {"geometry.coordinates[0][1][0]", "finite"}},
      {"position with one number",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]})"),
       {"geometry.coordinates[0][1]", "at least 2 numbers"}},
      {"self-intersecting bow tie",
       // Lobes of unequal area: a symmetric bow tie has zero net area and is
       // reported as "wrong orientation" instead.
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,1],[0,0]]]})"),
       {"zones[bad.geojson].features[0] (Z1 Zone one): geometry is invalid:", "self-intersection"}},
      {"hole outside its shell",
       OneFeature(props, R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],)"
                         R"([[5,5],[6,5],[6,6],[5,5]]]})"),
       {"(Z1 Zone one): geometry is invalid"}},
      {"duplicate code within a set",
       R"({"type":"FeatureCollection","features":[)"
       R"({"type":"Feature","properties":{"CODE":"Z1"},"geometry":)" +
           std::string(kSquareGeometry) +
           R"(},{"type":"Feature","properties":{"CODE":"Z1"},"geometry":)" + kSquareGeometry +
           "}]}",
       {"zones[bad.geojson].features[1] (Z1)", "duplicate zone code Z1",
        "zones[bad.geojson].features[0]"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    Status status = BuildStatus(c.text);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), ErrorCode::kBadInput);
    for (const std::string& expected : c.expected) {
      EXPECT_TRUE(HasText(status.ToString(), expected));
    }
  }
}

TEST(ZoneIndexTest, DuplicateCodeAcrossSetsIsAnError) {
  // Both London files use the same GSS codes; the full-resolution file starts with Kingston.
  Result<std::shared_ptr<const ZoneIndex>> index =
      ZoneIndex::Build({Lad22Boroughs(), FullResBoroughs()});
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().ToString(),
            "zones[london_boroughs_excl_mhw_wgs84.geojson].features[0] (E09000021 Kingston upon "
            "Thames): duplicate zone code E09000021, already defined at "
            "zones[london_lad22_bgc_wgs84.geojson].features[20] (E09000021 Kingston upon Thames)");
}

TEST(ZoneIndexTest, SkipInvalidSkipsOnlyGeometryProblems) {
  const std::string text =
      R"({"type":"FeatureCollection","features":[)"
      R"({"type":"Feature","properties":{"CODE":"GOOD"},"geometry":)" +
      std::string(kSquareGeometry) +
      R"(},{"type":"Feature","properties":{"CODE":"BAD"},"geometry":)"
      R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,95],[0,1],[0,0]]]}}]})";
  ZoneSetSource source = TextSource("s", text);
  source.skip_invalid = true;
  auto index = BuildOrFail({source});
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 1u);
  ASSERT_EQ(index->skipped().size(), 1u);
  EXPECT_EQ(index->skipped()[0].first, "BAD");
  EXPECT_TRUE(HasText(index->skipped()[0].second, "zones[s].features[1] (BAD)"));

  // A set where nothing survives is still an error.
  source.geojson_text = OneFeature(
      R"({"CODE":"BAD"})", R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]})");
  Result<std::shared_ptr<const ZoneIndex>> empty = ZoneIndex::Build({source});
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(HasText(empty.status().ToString(), "no usable zones"));

  // Property problems are never skipped.
  source.geojson_text = OneFeature(R"({"NAME":"x"})", kSquareGeometry);
  EXPECT_FALSE(ZoneIndex::Build({source}).ok());
}

// --- Accepted variants ------------------------------------------------------------------------

TEST(ZoneIndexTest, AcceptsBothWindingsUnclosedRingsCrsAndAltitude) {
  const std::string text =
      R"({"type":"FeatureCollection",
          "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},
          "features":[
        {"type":"Feature","properties":{"CODE":"CCW"},
         "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
        {"type":"Feature","properties":{"CODE":"CW","NAME":null},
         "geometry":{"type":"Polygon","coordinates":[[[2,0],[2,1],[3,1],[3,0],[2,0]]]}},
        {"type":"Feature","properties":{"CODE":"OPEN","NAME":"Unclosed"},
         "geometry":{"type":"Polygon","coordinates":[[[4,0],[5,0],[5,1],[4,1]]]}},
        {"type":"Feature","properties":{"CODE":"HOLE"},
         "geometry":{"type":"MultiPolygon","coordinates":[[
            [[6,0,10],[9,0,10],[9,3,10],[6,3,10],[6,0,10]],
            [[7,1],[7,2],[8,2],[8,1],[7,1]]]]}}]})";
  auto index = BuildOrFail({TextSource("ok.geojson", text)});
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 4u);
  ASSERT_EQ(index->ZonesContaining(GeoPoint(0.5, 0.5)).size(), 1u);
  EXPECT_EQ(index->ZonesContaining(GeoPoint(0.5, 0.5))[0]->code, "CCW");
  ASSERT_EQ(index->ZonesContaining(GeoPoint(2.5, 0.5)).size(), 1u);
  EXPECT_EQ(index->ZonesContaining(GeoPoint(2.5, 0.5))[0]->code, "CW");
  ASSERT_EQ(index->ZonesContaining(GeoPoint(4.5, 0.5)).size(), 1u);
  const Zone* open = index->Find("OPEN");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->name, "Unclosed");
  EXPECT_EQ(open->geometry[0].outer().size(), 5u);  // closed on load
  EXPECT_EQ(index->Find("CW")->name, "CW");         // null name falls back to the code
  EXPECT_EQ(index->Find("CCW")->name, "CCW");       // missing name falls back to the code
  EXPECT_EQ(index->ZonesContaining(GeoPoint(6.5, 0.5)).size(), 1u);  // in the shell
  EXPECT_TRUE(index->ZonesContaining(GeoPoint(7.5, 1.5)).empty());   // in the hole
  EXPECT_EQ(index->ZonesContaining(GeoPoint(7, 1.5)).size(), 1u);    // on the hole's edge
  EXPECT_TRUE(index->ZonesContaining(GeoPoint(1.5, 0.5)).empty());   // between zones
  EXPECT_EQ(index->Find("NOPE"), nullptr);
}

TEST(ZoneIndexTest, EmptySetListGivesEmptyIndex) {
  auto index = BuildOrFail({});
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 0u);
  EXPECT_TRUE(index->ZonesContaining(GeoPoint(0, 0)).empty());
}

TEST(ZoneIndexTest, ResultsOrderedBySetThenCode) {
  auto square = [](const std::string& code) {
    return R"({"type":"Feature","properties":{"CODE":")" + code + R"("},"geometry":)" +
           kSquareGeometry + "}";
  };
  const std::string first =
      R"({"type":"FeatureCollection","features":[)" + square("Z9") + "," + square("Z1") + "]}";
  const std::string second = R"({"type":"FeatureCollection","features":[)" + square("A5") + "]}";
  auto index = BuildOrFail({TextSource("first", first), TextSource("second", second)});
  ASSERT_NE(index, nullptr);
  std::vector<const Zone*> found = index->ZonesContaining(GeoPoint(0.5, 0.5));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0]->code, "Z1");
  EXPECT_EQ(found[1]->code, "Z9");
  EXPECT_EQ(found[2]->code, "A5");
  EXPECT_EQ(found[2]->zone_set, "second");
  ASSERT_EQ(index->zones().size(), 3u);
  EXPECT_EQ(index->zones()[0].code, "Z1");
  EXPECT_EQ(index->zones()[2].code, "A5");
}

// --- Geometry functions -----------------------------------------------------------------------

TEST(GeometryTest, GeometryFromGeoJsonCorrectsOrientationAndNamesFields) {
  Result<GeoMultiPolygon> ccw =
      ParseGeometry(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})");
  ASSERT_TRUE(ccw.ok()) << ccw.status().ToString();
  Result<GeoMultiPolygon> cw =
      ParseGeometry(R"({"type":"Polygon","coordinates":[[[0,0],[0,1],[1,1],[1,0],[0,0]]]})");
  ASSERT_TRUE(cw.ok()) << cw.status().ToString();
  EXPECT_TRUE(Covers(*ccw, GeoPoint(0.5, 0.5)));
  EXPECT_TRUE(Covers(*cw, GeoPoint(0.5, 0.5)));

  Result<GeoMultiPolygon> bad = ParseGeometry(R"({"type":"Polygon"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "g.coordinates");
  bad = ParseGeometry(R"({"coordinates":[]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "g.type");
  bad = ParseGeometry(R"({"type":"Polygon","coordinates":[]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status().ToString(), "no rings"));
  bad = ParseGeometry(R"({"type":"MultiPolygon","coordinates":[]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status().ToString(), "no polygons"));
  bad = ParseGeometry(R"([1,2])");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "g");
}

TEST(GeometryTest, CoversCountsBoundaryAsInside) {
  Result<GeoMultiPolygon> square =
      ParseGeometry(R"({"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]})");
  ASSERT_TRUE(square.ok());
  EXPECT_TRUE(Covers(*square, GeoPoint(1, 1)));
  EXPECT_TRUE(Covers(*square, GeoPoint(0, 0)));  // vertex
  EXPECT_TRUE(Covers(*square, GeoPoint(1, 0)));  // edge
  EXPECT_TRUE(Covers(*square, GeoPoint(2, 2)));  // vertex
  EXPECT_FALSE(Covers(*square, GeoPoint(2.000001, 1)));
  EXPECT_FALSE(Covers(*square, GeoPoint(-1, -1)));
}

TEST(GeometryTest, GeodesicDistanceSanity) {
  // One arc-minute of latitude is about one nautical mile (1852 m); at London's latitude the
  // meridian arc is ~1853 m.
  EXPECT_NEAR(GeodesicDistanceMeters(GeoPoint(-0.1, 51.5), GeoPoint(-0.1, 51.5 + 1.0 / 60)), 1852.0,
              5.0);
  // One degree of longitude on the WGS84 equator: a * pi / 180 = 111319.49 m.
  EXPECT_NEAR(GeodesicDistanceMeters(GeoPoint(0, 0), GeoPoint(1, 0)), 111319.49, 0.5);
  EXPECT_DOUBLE_EQ(GeodesicDistanceMeters(GeoPoint(1, 2), GeoPoint(1, 2)), 0.0);
  // Symmetric, and longer than the latitude difference alone.
  const GeoPoint a(-0.1218, 51.5009), b(-0.0255, 51.4787);
  EXPECT_NEAR(GeodesicDistanceMeters(a, b), GeodesicDistanceMeters(b, a), 1e-6);
  EXPECT_GT(GeodesicDistanceMeters(a, b), 6000.0);
  EXPECT_LT(GeodesicDistanceMeters(a, b), 8000.0);
}

TEST(GeometryTest, DistanceToBoundaryMatchesGeodesicLocally) {
  Result<GeoMultiPolygon> box =
      ParseGeometry(R"({"type":"Polygon","coordinates":[[[-0.01,51.49],[0.01,51.49],[0.01,51.51],)"
                    R"([-0.01,51.51],[-0.01,51.49]]]})");
  ASSERT_TRUE(box.ok());
  const GeoPoint centre(0, 51.5);
  // The nearest edge is the east/west side, 0.01 degrees of longitude away (~692 m).
  const double expected = GeodesicDistanceMeters(centre, GeoPoint(0.01, 51.5));
  EXPECT_NEAR(DistanceToBoundaryMeters(*box, centre), expected, expected * 0.005);
  // Outside: 0.005 degrees of latitude north of the top edge (~556 m).
  const GeoPoint north(0, 51.515);
  const double expected_north = GeodesicDistanceMeters(north, GeoPoint(0, 51.51));
  EXPECT_NEAR(DistanceToBoundaryMeters(*box, north), expected_north, expected_north * 0.005);
  // On the boundary.
  EXPECT_NEAR(DistanceToBoundaryMeters(*box, GeoPoint(0.01, 51.5)), 0.0, 1e-6);
  EXPECT_TRUE(std::isinf(DistanceToBoundaryMeters(GeoMultiPolygon(), centre)));
}

TEST(GeometryTest, SegmentCrossesSimpleSquare) {
  Result<GeoMultiPolygon> square =
      ParseGeometry(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})");
  ASSERT_TRUE(square.ok());
  EXPECT_TRUE(SegmentCrosses(*square, GeoPoint(-1, 0.5), GeoPoint(2, 0.5)));   // through
  EXPECT_TRUE(SegmentCrosses(*square, GeoPoint(0.5, 0.5), GeoPoint(3, 3)));    // from inside
  EXPECT_FALSE(SegmentCrosses(*square, GeoPoint(-1, 2), GeoPoint(2, 2)));      // above
  EXPECT_FALSE(SegmentCrosses(*square, GeoPoint(-1, -1), GeoPoint(-0.5, 3)));  // beside
}

}  // namespace
}  // namespace bw
