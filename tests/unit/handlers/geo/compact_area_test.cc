// CompactArea (handlers/geo/compact_area.h): an inline zone held as int32 vertices at 1e-7
// degree decides every point as the polygon received when its coordinates have at most seven
// decimals, moves a vertex by at most 5e-8 degree otherwise, and reads back only well-formed
// words.  And the conditions digest that replaced comparing two versions' JSON (issue 14).
#include "handlers/geo/compact_area.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "handlers/instruments/instrument.h"

namespace bw::testing {
namespace {

std::string Num(double v, int decimals) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// An irregular ~64-vertex ring around (lon, lat), radius ~r degrees, written with `decimals`.
std::string PolygonJson(std::mt19937_64& rng, double lon, double lat, double r, int decimals,
                        int holes = 0) {
  std::uniform_real_distribution<double> jitter(0.7, 1.0);
  auto ring = [&](double radius, bool reverse) {
    std::string s = "[", first;
    for (int i = 0; i < 64; ++i) {
      const double a = (reverse ? -1 : 1) * 2 * M_PI * i / 64;
      const double k = jitter(rng);
      std::string p = "[" + Num(lon + radius * k * std::cos(a), decimals) + "," +
                      Num(lat + radius * k * std::sin(a), decimals) + "]";
      if (i == 0) first = p;
      s += p + ",";
    }
    return s + first + "]";
  };
  std::string s = R"({"type":"Polygon","coordinates":[)" + ring(r, false);
  for (int h = 0; h < holes; ++h) s += "," + ring(r * 0.2, true);
  return s + "]}";
}

GeoMultiPolygon Parsed(const std::string& json) {
  auto g = GeometryFromGeoJson(boost::json::parse(json), "zone");
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : GeoMultiPolygon{};
}

bool SameCoordinates(const GeoMultiPolygon& a, const GeoMultiPolygon& b, double tolerance) {
  if (a.size() != b.size()) return false;
  auto same_ring = [&](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::abs(x[i].x() - y[i].x()) > tolerance || std::abs(x[i].y() - y[i].y()) > tolerance) {
        return false;
      }
    }
    return true;
  };
  for (size_t p = 0; p < a.size(); ++p) {
    if (!same_ring(a[p].outer(), b[p].outer())) return false;
    if (a[p].inners().size() != b[p].inners().size()) return false;
    for (size_t i = 0; i < a[p].inners().size(); ++i) {
      if (!same_ring(a[p].inners()[i], b[p].inners()[i])) return false;
    }
  }
  return true;
}

TEST(CompactArea, SevenDecimalCoordinatesReadBackAsExactlyTheParsedDoubles) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 200; ++n) {
    const GeoMultiPolygon parsed = Parsed(PolygonJson(rng, -0.1 + n * 0.001, 51.5, 0.01, 7, n % 2));
    const CompactArea area(parsed);
    EXPECT_TRUE(SameCoordinates(area.Expand(), parsed, 0.0)) << "polygon " << n;
    EXPECT_EQ(area.vertex_count(), n % 2 ? 130u : 65u);
  }
}

// Every point decided by the compact form as by the polygon received, including points within
// millimetres of the boundary (the decision the rounding could move, if it moved anything).
TEST(CompactArea, DecidesEveryPointAsThePolygonReceived) {
  std::mt19937_64 rng(11);
  const GeoMultiPolygon parsed = Parsed(PolygonJson(rng, -0.05, 51.45, 0.015, 7, 1));
  const GeoMultiPolygon expanded = CompactArea(parsed).Expand();
  std::uniform_real_distribution<double> t(0, 1), tiny(-2e-8, 2e-8);
  int inside = 0;
  const auto& ring = parsed[0].outer();
  for (int i = 0; i < 20000; ++i) {
    // A point on an edge, nudged by up to ~2 mm, or anywhere in the box.
    GeoPoint p;
    if (i % 2 == 0) {
      const size_t k = static_cast<size_t>(t(rng) * (ring.size() - 1));
      const double u = t(rng);
      p = GeoPoint(ring[k].x() + u * (ring[k + 1].x() - ring[k].x()) + tiny(rng),
                   ring[k].y() + u * (ring[k + 1].y() - ring[k].y()) + tiny(rng));
    } else {
      p = GeoPoint(-0.07 + 0.04 * t(rng), 51.43 + 0.04 * t(rng));
    }
    ASSERT_EQ(Covers(parsed, p), Covers(expanded, p)) << p.x() << " " << p.y();
    inside += Covers(parsed, p);
  }
  EXPECT_GT(inside, 1000);  // the sample reached both sides
}

TEST(CompactArea, MorePreciseCoordinatesMoveByAtMostHalfAUnit) {
  std::mt19937_64 rng(13);
  const GeoMultiPolygon parsed = Parsed(PolygonJson(rng, 179.9, -89.9 + 0.1, 0.02, 12));
  const GeoMultiPolygon expanded = CompactArea(parsed).Expand();
  EXPECT_TRUE(SameCoordinates(expanded, parsed, 5e-8 + 1e-15));
  EXPECT_FALSE(SameCoordinates(expanded, parsed, 0.0));  // twelve decimals were rounded
}

TEST(CompactArea, WordsRoundTripAndMalformedWordsAreRefused) {
  std::mt19937_64 rng(17);
  const CompactArea area(Parsed(PolygonJson(rng, -0.1, 51.5, 0.01, 7, 1)));
  CompactArea back;
  ASSERT_TRUE(CompactArea::FromWords(area.words(), &back));
  EXPECT_EQ(back, area);
  std::vector<int32_t> words = area.words();
  words.pop_back();  // one coordinate short
  EXPECT_FALSE(CompactArea::FromWords(words, &back));
  words = area.words();
  words[1] = 1000;  // more rings than the words hold
  EXPECT_FALSE(CompactArea::FromWords(words, &back));
  words = area.words();
  words[0] = -1;
  EXPECT_FALSE(CompactArea::FromWords(words, &back));
  EXPECT_TRUE(CompactArea::FromWords({}, &back));
  EXPECT_TRUE(back.empty());
}

// A 64-vertex ring takes 8 bytes a vertex (and a few counts), where it took 16 as points.
TEST(CompactArea, HoldsEightBytesAVertex) {
  std::mt19937_64 rng(19);
  const CompactArea area(Parsed(PolygonJson(rng, -0.1, 51.5, 0.01, 7)));
  EXPECT_EQ(area.words().size() * sizeof(int32_t), 65u * 8 + 3 * 4);
}

TEST(ConditionsDigest, EqualArraysWhateverTheKeyOrderDifferentArraysApart) {
  const auto a = boost::json::parse(R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}])");
  const auto b = boost::json::parse(R"([{"zone":"E09000023","kind":"exclusion_zone","condition_id":"c1"}])");
  const auto c = boost::json::parse(R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000022"}])");
  const auto d = boost::json::parse(R"([{"condition_id":"c1","kind":"exclusion_zone"},{"zone":"E09000023"}])");
  EXPECT_EQ(JsonDigest(a), JsonDigest(b));
  EXPECT_NE(JsonDigest(a), JsonDigest(c));
  EXPECT_NE(JsonDigest(a), JsonDigest(d));
  EXPECT_NE(JsonDigest(boost::json::parse("[1]")), JsonDigest(boost::json::parse("[\"1\"]")));
}

}  // namespace
}  // namespace bw::testing
