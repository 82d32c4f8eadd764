#include "tests/integration/bail_walk.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"

namespace bw::testing {

std::vector<FeedEvent> GenerateBailWalk(int persons, int fixes, uint64_t seed,
                                        std::string_view instrument_prefix) {
  using std::chrono::milliseconds;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> step(-0.0015, 0.0015);
  std::vector<FeedEvent> out;
  const TimePoint base = SystemClock().Now() - std::chrono::hours(1) -
                         milliseconds(static_cast<int64_t>(fixes) * 500);
  const std::string from = FormatRfc3339(base - std::chrono::hours(1));
  std::vector<std::pair<double, double>> pos;
  for (int p = 0; p < persons; ++p) {
    pos.emplace_back(-0.03 + 0.04 * p / persons, 51.455 + 0.02 * ((p * 7) % persons) / persons);
    const std::string id = std::string(instrument_prefix) + std::to_string(p);
    out.push_back(
        {"orders", p + 1,
         R"({"type":"instrument.granted","id":"g-)" + std::to_string(p) +
             R"(","source":"orders-sim","seq":)" + std::to_string(p + 1) + R"(,"time":")" + from +
             R"(","instrument":{"instrument_id":")" + id +
             R"(","kind":"police_bail","subject":"P)" + std::to_string(p) + R"(","oic":"OIC-)" +
             std::to_string(p % 7) +
             R"(","supervisor":"SUP-1","owning_control":"E09000023","valid_from":")" + from +
             R"(","conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"},)"
             R"({"condition_id":"c2","kind":"not_to_attend","place":{"at":[-0.0205,51.4452],"radius_m":300}}]}})"});
  }
  for (int i = 0; i < fixes; ++i) {
    const int p = i % persons;
    pos[p].first = std::clamp(pos[p].first + step(rng), -0.08, 0.04);
    pos[p].second = std::clamp(pos[p].second + step(rng), 51.42, 51.50);
    char at[64];
    std::snprintf(at, sizeof at, "[%.6f,%.6f]", pos[p].first, pos[p].second);
    const std::string t = FormatRfc3339(base + milliseconds(static_cast<int64_t>(i) * 500));
    out.push_back({"tag", i + 1,
                   R"({"type":"tag.position","id":"fix-)" + std::to_string(i + 1) +
                       R"(","source":"em-sim","seq":)" + std::to_string(i + 1) + R"(,"time":")" +
                       t + R"(","person_id":"P)" + std::to_string(p) + R"(","device_id":"D)" +
                       std::to_string(p) + R"(","at":)" + at + R"(,"accuracy_m":8})"});
  }
  return out;
}

}  // namespace bw::testing
