// What the integration tests share besides the daemon harness (daemon_process.h): the current time
// as the wire writes it, two places either side of the Lewisham border, a heartbeat event, and the
// status and alert counts most tests wait on.
//
// Thread-safety: none needed; each test drives its own daemon from one thread.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"

namespace bw::testing {

// Now (plus `offset_s`), RFC 3339 as events carry it.
inline std::string Now(int offset_s = 0) {
  return FormatRfc3339(SystemClock().Now() + std::chrono::seconds(offset_s));
}

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS), [lon, lat].
inline const boost::json::array kInLewisham = {-0.026769491892293, 51.456018429508376};
inline const boost::json::array kInGreenwich = {-0.018494194999263, 51.481203765754287};
// The same places as JSON text, for events written as strings.
inline constexpr char kInLewishamText[] = "[-0.026769491892293,51.456018429508376]";
inline constexpr char kInGreenwichText[] = "[-0.018494194999263,51.481203765754287]";

// A heartbeat from `source` with `seq`, timed now.
inline std::string Heartbeat(int64_t seq, const std::string& source = "em-provider") {
  return R"({"type":"heartbeat","id":")" + source + "-" + std::to_string(seq) + R"(","source":")" +
         source + R"(","seq":)" + std::to_string(seq) + R"(,"time":")" + Now() + "\"}";
}

// Inbound messages handled so far (status), or -1 when status does not answer.
inline int64_t Handled(DaemonProcess& d) {
  auto s = d.Call("status");
  if (!s.contains("counts")) return -1;
  return s.at("counts").at("inbound_handled").to_number<int64_t>();
}

// Every stored alert of `kind` (alerts.since from the start), oldest first.
inline std::vector<boost::json::object> AlertsOfKind(DaemonProcess& d, const std::string& kind) {
  std::vector<boost::json::object> out;
  for (auto& a : d.AlertsSince(0)) {
    if (a.at("kind").as_string() == kind) out.push_back(a);
  }
  return out;
}

}  // namespace bw::testing
