// Fuzzes the feed-event decoder (handlers/wire/event.h, spec sections 2 and 4) with
// arbitrary bytes.  Contract checked: it never crashes, and every rejection is
// BadInput with a reason class, so the daemon can dead-letter it; every time
// it accepts survives FormatRfc3339 -> ParseRfc3339.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/base/time_util.h"
#include "handlers/wire/event.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Times are stored and sent as FormatRfc3339 text and parsed back (store,
// alert payloads, history): every accepted time must survive the round trip.
void CheckRoundTrip(bw::TimePoint t, const std::string& what) {
  const std::string text = bw::FormatRfc3339(t);
  auto back = bw::ParseRfc3339(text);
  FUZZ_CHECK(back && *back == t, what + " formats as \"" + text + "\", which does not parse back");
}

void CheckRejection(const bw::Status& s) {
  FUZZ_CHECK(s.code() == bw::ErrorCode::kBadInput, s.ToString());
  FUZZ_CHECK(!s.reason().empty(), s.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bw::TimePoint kNow = *bw::ParseRfc3339("2016-08-13T21:00:00Z");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  bw::DecodeOptions feed;
  feed.now = kNow;
  auto e = bw::DecodeEvent(bytes, feed);
  if (!e.ok()) {
    CheckRejection(e.status());
    if (e.status().field() != "seq") return 0;
    // The control socket's event.submit takes the same event without seq.
    bw::DecodeOptions control = feed;
    control.require_seq = false;
    auto c = bw::DecodeEvent(bytes, control);
    if (!c.ok()) CheckRejection(c.status());
    return 0;
  }
  if (e->location.at) {
    FUZZ_CHECK(e->location.at->x() >= -180 && e->location.at->x() <= 180, e->id);
    FUZZ_CHECK(e->location.at->y() >= -90 && e->location.at->y() <= 90, e->id);
  }
  FUZZ_CHECK(!e->id.empty() && !e->source.empty() && e->seq >= 1, e->id);
  CheckRoundTrip(e->time, "time");
  if (e->instrument) {
    CheckRoundTrip(e->instrument->valid_from, "valid_from");
    if (e->instrument->valid_until) CheckRoundTrip(*e->instrument->valid_until, "valid_until");
  }
  return 0;
}
