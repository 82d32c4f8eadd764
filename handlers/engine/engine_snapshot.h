// The engine's state as bytes, and back: what a snapshot of the daemon holds so
// that start-up replays only the events after it (daemon/snapshot.h adds the
// file's framing: format version, journal position, checksum).
//
// The encoding is binary and complete: every instrument version (all decoded
// fields, the inline zones' compact vertices, the prefilters, each version's
// number and conditions digest; no JSON: the store keeps it),
// episodes, last fixes, custody, breaches, history, the expiry warnings and
// the proximity fix tracks.  Decoding builds the same state without parsing
// any JSON or re-deciding any event (a risk assessment's raw object, rare, is
// parsed).  Encoding a state and decoding it gives a state that decides every
// event as the original does; encoding that again gives the same bytes (equal states encode
// to equal bytes: hash tables are written in key order).
//
// The layout is private to this file pair and changes with kEngineStateFormat:
// a snapshot of another format is not read (the daemon replays instead).
//
// Pure functions; thread-safety: none needed (the caller owns the state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/base/status.h"
#include "handlers/engine/engine_state.h"

namespace bw {

// Changes whenever the encoding (or the meaning of a field in it) changes.
// 2: inline zones as CompactArea words; no raw JSON; Instrument::version and
// conditions_digest (issue 14).
inline constexpr uint32_t kEngineStateFormat = 2;

// `state` as bytes.
std::string EncodeEngineState(const EngineState& state);

// The state encoded in `bytes`; BadInput when they are truncated, have bytes
// left over or hold a value out of range.
Result<EngineState> DecodeEngineState(std::string_view bytes);

}  // namespace bw
