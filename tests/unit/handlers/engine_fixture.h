// What the handler unit tests share: the London borough zone set, times written
// as RFC 3339 text, and a fixture holding an injected clock and an Engine (the
// default Policy) that decodes events as the daemon does (no seq required) and
// handles them as the daemon does (Decide, then Apply).  No sleeps: time moves
// only when a test sets the clock.
//
// Header-only, for tests/unit/handlers/*; one test thread.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/geo/zone_index.h"
#include "handlers/wire/event.h"

namespace bw::test {

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS): a
// point inside the borough of Lewisham (E09000023) and one outside it.
inline constexpr double kLewishamLon = -0.026769491892293, kLewishamLat = 51.456018429508376;
inline constexpr double kGreenwichLon = -0.018494194999263, kGreenwichLat = 51.481203765754287;

// The time `text` names; a parse failure fails the calling test.
inline TimePoint T(std::string_view text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(TimePoint{});
}

// The 33 London boroughs (config/zones/london_lad22_bgc_wgs84.geojson, codes
// LAD22CD), loaded once per test binary.
inline std::shared_ptr<const ZoneIndex> LondonBoroughs() {
  static const std::shared_ptr<const ZoneIndex> zones = [] {
    std::ifstream in(std::string(BREACHWATCH_SOURCE_DIR) +
                     "/config/zones/london_lad22_bgc_wgs84.geojson");
    std::stringstream ss;
    ss << in.rdbuf();
    ZoneSetSource src;
    src.name = "london_lad22_bgc_wgs84.geojson";
    src.geojson_text = ss.str();
    src.code_property = "LAD22CD";
    src.name_property = "LAD22NM";
    auto built = ZoneIndex::Build({src});
    EXPECT_TRUE(built.ok()) << built.status().ToString();
    return built.ok() ? *built : nullptr;
  }();
  return zones;
}

// An Engine at a fixed clock.  Tests derive from it and name their start time.
class EngineFixture : public ::testing::Test {
 protected:
  explicit EngineFixture(std::string_view now,
                         std::shared_ptr<const ZoneIndex> zones = LondonBoroughs(),
                         Policy policy = {})
      : clock_(T(now)), engine_(clock_, std::move(zones), policy) {}

  // `text` decoded as received at the clock's now; a decode failure fails the
  // test (and gives an empty Event).
  Event Decode(const std::string& text) {
    auto e = DecodeAtNow(text);
    return e.ok() ? *e : Event{};
  }

  // Decides `text` and applies the outcome, as the daemon does once it is
  // committed; returns the outcome (empty when the event cannot be decoded or
  // is refused, which fails the test).
  Outcome Handle(const std::string& text) {
    auto e = DecodeAtNow(text);
    if (!e.ok()) return {};
    auto out = engine_.Decide(*e);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    engine_.Apply(*out);
    return *out;
  }

  // Decides `text` as it happens and applies it: the clock moves forward to the event's time
  // first, and any event time is accepted (it is decoded as of 2100).  For rules that judge time
  // (expiry, curfew), where Handle's "received at now" would refuse a later event.
  void HandleAsItHappens(const std::string& text) {
    DecodeOptions o;
    o.now = T("2100-01-01T00:00:00Z");
    o.require_seq = false;
    auto e = DecodeEvent(text, o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (clock_.Now() < e->time) clock_.Set(e->time);
    auto out = engine_.Decide(*e);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    engine_.Apply(*out);
  }

  // Ticks at `now` and applies the outcome; returns the alerts raised.
  std::vector<Alert> TickAt(std::string_view now) {
    clock_.Set(T(now));
    auto out = engine_.Tick(clock_.Now());
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    engine_.Apply(*out);
    return out->alerts;
  }

  ManualClock clock_;
  Engine engine_;

 private:
  Result<Event> DecodeAtNow(const std::string& text) {
    DecodeOptions o;
    o.now = clock_.Now();
    o.require_seq = false;
    auto e = DecodeEvent(text, o);
    EXPECT_TRUE(e.ok()) << e.status().ToString() << "\n" << text;
    return e;
  }
};

}  // namespace bw::test
