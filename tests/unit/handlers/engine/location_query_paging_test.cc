// conditions.location in pages (issue 12, "one query stops breach handling"): a scan stopped after
// any number of instruments or conditions and resumed from its position lists every forbidding
// condition exactly once, in the order of one full scan; the page token carries the position and
// the query; the decoder bounds `limit`.  Injected clock, no sleeps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "handlers/engine/location_query.h"
#include "handlers/wire/control_request.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using namespace test;  // the shared handler-test fixture (engine_fixture.h)

// Instrument `n`: an exclusion from Lewisham, one from Greenwich and (every third) a not-to-attend
// address in Lewisham, so a point in Lewisham is forbidden by one or two of its conditions.
std::string Grant(int n) {
  const std::string id = "BAIL/PAGE/" + std::to_string(1000 + n);
  std::string conditions = R"([{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},)"
                           R"({"condition_id":"c2","kind":"exclusion_zone","zone":"E09000011"})";
  if (n % 3 == 0) {
    conditions += R"(,{"condition_id":"c3","kind":"not_to_attend","place":{"label":"home",)"
                  R"("at":[-0.026769491892293,51.456018429508376],"radius_m":100}})";
  }
  conditions += "]";
  return R"({"type":"instrument.granted","id":"g-)" + std::to_string(n) +
         R"(","source":"orders","time":"2016-05-10T14:00:00Z","instrument":{"instrument_id":")" +
         id + R"(","kind":"police_bail","subject":"PNC-79/)" + std::to_string(100000 + n) +
         R"(X","case_ref":"01LW/12345/16","oic":"MP-PC1234","owning_control":"E09000023",)"
         R"("valid_from":"2016-05-10T14:00:00Z","valid_until":null,"conditions":)" +
         conditions + "}}";
}

std::string Key(const ForbiddingCondition& f) {
  return f.instrument->instrument_id + "/" + f.condition->condition_id;
}

class LocationPagingTest : public EngineFixture {
 protected:
  LocationPagingTest() : EngineFixture("2016-08-13T21:00:00Z") {
    for (int n = 0; n < kInstruments; ++n) Handle(Grant(n));
    where_.at = GeoPoint(kLewishamLon, kLewishamLat);
  }

  const EngineState& state() const { return engine_.state(); }
  const ZoneIndex& zones() const { return engine_.zones(); }

  std::vector<std::string> FullScan() {
    std::vector<std::string> out;
    for (const auto& f : ConditionsForbidding(state(), zones(), where_, nullptr, clock_.Now())) {
      out.push_back(Key(f));
    }
    return out;
  }

  static constexpr int kInstruments = 30;
  Location where_;
};

TEST_F(LocationPagingTest, TheFullScanListsEachForbiddingConditionOfEveryInstrument) {
  auto all = FullScan();
  // c1 of every instrument, c3 of every third; never c2 (Greenwich).
  EXPECT_EQ(all.size(), static_cast<size_t>(kInstruments + kInstruments / 3));
  EXPECT_EQ(all.front(), "BAIL/PAGE/1000/c1");
  EXPECT_EQ(all[1], "BAIL/PAGE/1000/c3");
}

TEST_F(LocationPagingTest, PagesOfAnyLengthListEveryConditionExactlyOnceInTheOrderOfOneScan) {
  const auto all = FullScan();
  for (size_t page : {1, 2, 3, 7, 100}) {
    std::vector<std::string> paged;
    LocationCursor at;
    int pages = 0;
    for (;;) {
      ForbiddingConditionScan scan(state(), zones(), where_, nullptr, clock_.Now(), at);
      size_t got = 0;
      while (!scan.done() && got < page) {
        if (auto f = scan.Next(1)) {
          paged.push_back(Key(*f));
          ++got;
        }
      }
      ++pages;
      if (scan.done()) break;
      at = scan.position();
      ASSERT_LT(pages, 1000) << "no progress";
    }
    EXPECT_EQ(paged, all) << "page length " << page;
  }
}

TEST_F(LocationPagingTest, AScanStopsAfterItsInstrumentBudgetAndResumesAtTheNextInstrument) {
  // A point forbidden by nothing: every call examines its budget and finds nothing.
  where_.at = GeoPoint(-0.09, 51.455);  // Southwark
  ForbiddingConditionScan scan(state(), zones(), where_, nullptr, clock_.Now());
  EXPECT_FALSE(scan.Next(4).has_value());
  EXPECT_EQ(scan.examined(), 4u);
  EXPECT_FALSE(scan.done());
  EXPECT_EQ(scan.position(), (LocationCursor{"BAIL/PAGE/1004", 0}));
  ForbiddingConditionScan rest(state(), zones(), where_, nullptr, clock_.Now(), scan.position());
  EXPECT_FALSE(rest.Next(SIZE_MAX).has_value());
  EXPECT_TRUE(rest.done());
  EXPECT_EQ(rest.examined(), static_cast<size_t>(kInstruments - 4));
}

TEST_F(LocationPagingTest, AResumedScanCarriesOnWithinAnInstrumentAfterItsLastListedCondition) {
  ForbiddingConditionScan scan(state(), zones(), where_, nullptr, clock_.Now());
  auto first = scan.Next(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Key(*first), "BAIL/PAGE/1000/c1");
  // Stopped after c1 of the first instrument: its c3 comes next, not c1 again.
  EXPECT_EQ(scan.position(), (LocationCursor{"BAIL/PAGE/1000", 1}));
  ForbiddingConditionScan rest(state(), zones(), where_, nullptr, clock_.Now(), scan.position());
  auto second = rest.Next(1);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Key(*second), "BAIL/PAGE/1000/c3");
}

TEST_F(LocationPagingTest, AnAreaScanListsTheZoneOfThatCodeAndAddressesInsideIt) {
  Location area;
  area.area = "E09000023";
  const Zone* lewisham = zones().Find("E09000023");
  ASSERT_NE(lewisham, nullptr);
  auto found = ConditionsForbidding(state(), zones(), area, lewisham, clock_.Now());
  EXPECT_EQ(found.size(), static_cast<size_t>(kInstruments + kInstruments / 3));
}

TEST(LocationPageToken, RoundTripsThePositionTheTimeAndThePlace) {
  LocationPageToken token;
  token.at = T("2026-11-30T08:00:00Z");
  Location where;
  where.area = "E09000023";
  token.place_digest = LocationPlaceDigest(where);
  token.position = {"BAIL/LW/2016/0412 with spaces.and.dots", 3};
  const std::string text = EncodeLocationPageToken(token);
  for (char c : text) EXPECT_TRUE(c > 0x20 && c < 0x7f) << text;
  auto back = DecodeLocationPageToken(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->at, token.at);
  EXPECT_EQ(back->place_digest, token.place_digest);
  EXPECT_EQ(back->position, token.position);
}

TEST(LocationPageToken, RefusesTextItDidNotIssueNamingTheCursor) {
  for (const char* text : {"", "garbage", "L1.1.2.3", "L2.0.0.0000000000000000.41",
                           "L1.x.0.0000000000000000.41", "L1.0.0.0000000000000000.4"}) {
    auto r = DecodeLocationPageToken(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().field(), "cursor") << text;
  }
}

TEST(LocationPageToken, ThePlaceDigestTellsPlacesApart) {
  Location a, b, c;
  a.area = "E09000023";
  b.area = "E09000011";
  c.at = GeoPoint(kLewishamLon, kLewishamLat);
  EXPECT_EQ(LocationPlaceDigest(a), LocationPlaceDigest(a));
  EXPECT_NE(LocationPlaceDigest(a), LocationPlaceDigest(b));
  EXPECT_NE(LocationPlaceDigest(a), LocationPlaceDigest(c));
}

TEST(ConditionsLocationRequest, LimitDefaultsAndIsBoundedAndTheCursorIsPassedOn) {
  ControlDecodeOptions options;
  auto decode = [&](const std::string& extra) {
    return DecodeControlRequest(
        "conditions.location",
        R"({"officer_id":"MP-PC1","reason":"r","area":"E09000023")" + extra + "}", options);
  };
  auto plain = decode("");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->limit, kDefaultPageLimit);
  EXPECT_EQ(plain->cursor, "");
  auto paged = decode(R"(,"limit":7,"cursor":"L1.0.0.0000000000000000.41")");
  ASSERT_TRUE(paged.ok()) << paged.status().ToString();
  EXPECT_EQ(paged->limit, 7);
  EXPECT_EQ(paged->cursor, "L1.0.0.0000000000000000.41");
  EXPECT_TRUE(decode(R"(,"limit":1000)").ok());
  for (const char* bad :
       {R"(,"limit":0)", R"(,"limit":1001)", R"(,"limit":"ten")", R"(,"cursor":5)"}) {
    auto r = decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().field() == "limit" || r.status().field() == "cursor") << bad;
  }
}

}  // namespace
}  // namespace bw
