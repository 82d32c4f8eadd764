// Instrument bodies: the JSON object of an instrument version as it was received.
//
// The engine keeps no instrument's JSON (an inline 64-vertex zone is ~2.5 KB of text per person):
// the store keeps every version's body (Store::InstrumentRaw in the daemon), and the rare paths
// that return it — a check's `check_result`, a custody release's alert, the `conditions.*`
// queries — read it back by (instrument_id, version).  A handler names the bodies an alert
// carries (Alert::embed_instruments); the daemon puts them in (FillInstrumentBodies) before the
// alert is stored and published, so that what is stored and published is what it always was.
//
// Pure functions; the lookup is the caller's.  Thread-safety: as the lookup's.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "handlers/alerts/alert.h"
#include "handlers/base/status.h"

namespace bw {

// The body text of version `version` of `instrument_id`, nullopt when there is none; an error
// when it cannot be read.
using InstrumentBodyLookup = std::function<Result<std::optional<std::string>>(
    const std::string& instrument_id, uint32_t version)>;

// `text` parsed as an object (an empty object when it is not one: never, for a stored body).
boost::json::object ParseInstrumentBody(std::string_view text);

// What stands for a body the lookup does not have (it always should): the id and version, and
// `"unavailable": true`.
boost::json::object UnavailableInstrumentBody(const std::string& instrument_id, uint32_t version);

// Puts the body of each of `alert->embed_instruments`, in order, into
// alert->extra["instruments"] (replacing what is there, keeping its place among the extras) and
// clears embed_instruments.  Nothing to do when there are none.  A lookup error is returned with
// the alert unchanged.
[[nodiscard]] Status FillInstrumentBodies(const InstrumentBodyLookup& lookup, Alert* alert);

}  // namespace bw
