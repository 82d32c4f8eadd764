// Fuzzes the control-request decoder (handlers/wire/control_request.h, spec
// section 7).  Input: the op frame, a newline, then the JSON body.  Contract
// checked: it never crashes, every rejection is BadInput, and a decoded
// event.submit carries an object that the event decoder then handles safely.
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/base/time_util.h"
#include "handlers/wire/control_request.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view op =
      nl == std::string_view::npos ? std::string_view() : input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? input : input.substr(nl + 1);

  bw::ControlDecodeOptions options;
  bw::ControlIdentity who;
  auto r = bw::DecodeControlRequest(op, body, options, &who);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == bw::ErrorCode::kBadInput, r.status().ToString());
    FUZZ_CHECK(!r.status().reason().empty(), r.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!r->who.officer_id.empty() && !r->who.reason.empty(), std::string(op));
  FUZZ_CHECK(who.officer_id == r->who.officer_id, std::string(op));
  FUZZ_CHECK(op == bw::ControlOpName(r->op), std::string(op));
  FUZZ_CHECK(r->older_than_s >= 0, std::to_string(r->older_than_s));
  if (r->op == bw::ControlOp::kConditionsLocation) {
    FUZZ_CHECK(r->location.at || !r->location.area.empty(), std::string(body));
  }
  if (r->op == bw::ControlOp::kEventSubmit) {
    // What the daemon does next: serialize and decode as an event without seq.
    static const bw::TimePoint kNow = *bw::ParseRfc3339("2016-08-13T21:00:00Z");
    bw::DecodeOptions event_options;
    event_options.now = kNow;
    event_options.require_seq = false;
    auto e = bw::DecodeEvent(boost::json::serialize(r->event), event_options);
    if (!e.ok()) FUZZ_CHECK(e.status().code() == bw::ErrorCode::kBadInput, e.status().ToString());
  }
  return 0;
}
