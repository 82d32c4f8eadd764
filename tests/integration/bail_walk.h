// A stream of feed events for the kill -9 and failover tests: people on bail near the
// Lewisham / Greenwich boundary, each excluded from Lewisham and told not to attend one place,
// then position fixes walking in and out of it (alerts on the way).  Deterministic for a seed.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bw::testing {

struct FeedEvent {
  std::string feed;  // "orders" or "tag"
  int64_t seq;       // the feed's seq, from 1
  std::string json;
};

// `persons` instrument.granted events on "orders" (instrument ids `instrument_prefix` + n), then
// `fixes` tag.position events on "tag", one every 0.5 s of event time, round robin over the
// persons, the last one an hour ago: long enough for episodes to close and reopen.
std::vector<FeedEvent> GenerateBailWalk(int persons, int fixes, uint64_t seed,
                                        std::string_view instrument_prefix);

}  // namespace bw::testing
