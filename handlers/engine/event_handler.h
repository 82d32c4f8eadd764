// EventHandler: one per event kind (Traccar-style handler chain).  A handler
// reads the engine's state and decides what an event means — alerts to raise,
// instrument versions to record, and mutations of the state to apply once the
// outcome is committed.  Handlers never change state themselves and never do
// I/O, so one failing handler cannot corrupt what the others see.
//
// Thread-safety: handlers are stateless; Decide may be called from any thread
// that owns the (const) state it reads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/base/status.h"
#include "handlers/engine/engine_state.h"
#include "handlers/engine/policy.h"
#include "handlers/geo/zone_index.h"
#include "handlers/wire/event.h"

namespace bw {

// One recorded change to an instrument: a version (granted/varied) or its end.
struct InstrumentChange {
  enum class Kind { kGranted, kVaried, kEnded };
  Kind kind = Kind::kGranted;
  std::string instrument_id;
  TimePoint effective;                           // the event time from which this change applies
  std::shared_ptr<const Instrument> instrument;  // granted / varied
  // granted / varied: the instrument object as received (Event::instrument_raw), stored as the
  // version's body; the engine does not keep it (handlers/instruments/instrument_bodies.h).
  std::string instrument_raw;
  std::string end_reason;  // ended
};
const char* InstrumentChangeKindName(InstrumentChange::Kind kind);

using StateMutation = std::function<void(EngineState&)>;

// What handling one event amounts to.
struct Outcome {
  std::vector<InstrumentChange> changes;  // persisted as instrument versions
  std::vector<Alert> alerts;              // persisted, then published
  std::vector<StateMutation> mutations;   // applied to the state after commit
  std::string note;                       // stored with the inbound message
  std::vector<std::pair<std::string, BreachRecord>> pending_breaches;  // CountBreach's, not stored
  std::vector<std::pair<std::string, HistoryEntry>> pending_history;   // RecordHistory's, likewise
  // A GPS fix that becomes the person's latest (tag.position): applied like a
  // mutation, kept apart so that the usual fix allocates no closure.
  std::optional<std::pair<std::string, LastFix>> last_fix;
};

struct HandlerContext {
  const EngineState& state;
  const ZoneIndex& zones;
  const Policy& policy;
  TimePoint now;  // the daemon's clock when the event is handled
  const std::vector<std::string>& control_rooms;  // every control room (data-gap alerts)
};

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual const char* name() const = 0;
  // Fills `out`.  BadInput means the event cannot be applied (it is dead-lettered).
  virtual Status Decide(const Event& event, const HandlerContext& ctx, Outcome* out) const = 0;
};

// A time-driven rule, run by Engine::Tick (e.g. expiry warnings).
class TickHandler {
 public:
  virtual ~TickHandler() = default;
  virtual const char* name() const = 0;
  virtual Status Tick(const HandlerContext& ctx, Outcome* out) const = 0;
};

// The helpers the rule handlers share are in handlers/rules/rule_support.h.

}  // namespace bw
