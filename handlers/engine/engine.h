// Engine: the domain core.  Holds the EngineState and a handler per event type,
// and decides what an event means (which conditions it breaches, which alerts
// go to whom).
//
// The engine never performs I/O.  Handling is split in two so that nothing is
// half-applied: Decide() computes an Outcome without changing state, and
// Apply() applies it.  The daemon's matcher (daemon/matcher.h) applies each
// outcome as soon as it is decided, so that the next event of the same batch
// sees it, and the journal then commits the batch as one.  If that commit
// fails, and after a restart, the matcher rebuilds the state by Reset() and
// replaying the handled events from the journal, so the state is again a
// function of what was committed.
//
// Thread-safety: not synchronised.  The daemon's matcher owns the one Engine and
// uses it from the event-loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/engine/engine_state.h"
#include "handlers/engine/event_handler.h"
#include "handlers/engine/policy.h"
#include "handlers/geo/zone_index.h"
#include "handlers/wire/event.h"

namespace bw {

class Engine {
 public:
  // Installs the default handler for every event type.
  Engine(const Clock& clock, std::shared_ptr<const ZoneIndex> zones, Policy policy);

  // Replaces the handler for one event type (tests, fault injection).
  void SetHandler(EventType type, std::shared_ptr<const EventHandler> handler);

  // Decides what `event` means; does not change the engine.  BadInput: the
  // event cannot be applied (unknown zone code, variation of an unknown
  // instrument...).  Internal: the handler failed; the event is dead-lettered
  // with that reason and the other handlers carry on.
  Result<Outcome> Decide(const Event& event) const;

  // Runs the time-driven rules (e.g. instrument_expiring) as of `now`; like
  // Decide, changes nothing until Apply.
  Result<Outcome> Tick(TimePoint now) const;

  // Applies the state changes of an Outcome that has been committed.
  void Apply(const Outcome& outcome);

  // Records the outcome of a resolved alert (alert.resolve) in the person's
  // history, so that later alerts show it (protocol 9.1).  The daemon calls it
  // once the resolution is committed, and for every resolved alert after a
  // replay (the outcomes are in the store, not in the replayed events).
  void RecordAlertOutcome(const Alert& alert, const std::string& outcome);

  // Forgets everything (before a replay).
  void Reset() { state_.Clear(); }
  // Replaces the state with `state` (one read from a snapshot,
  // handlers/engine/engine_snapshot.h), before the events after it are replayed.
  void RestoreState(EngineState state) { state_ = std::move(state); }

  const EngineState& state() const { return state_; }

  // Instruments with `person` as subject in force at `t`.
  std::vector<std::shared_ptr<const Instrument>> InForce(const std::string& person,
                                                         TimePoint t) const {
    return state_.instruments.SubjectInForce(person, t);
  }

  // Every zone code used by an instrument that `zones` lacks; empty when a zone
  // reload is safe.
  std::vector<std::string> MissingZoneCodes(const ZoneIndex& zones) const;

  void SetZones(std::shared_ptr<const ZoneIndex> zones);
  // Every control room, for alerts that go to all of them (data gaps).  Empty:
  // every area of the first zone set (the control-room map).
  void SetControlRooms(std::vector<std::string> rooms);
  const std::vector<std::string>& control_rooms() const { return control_rooms_; }
  void SetPolicy(const Policy& policy) { policy_ = policy; }
  const ZoneIndex& zones() const { return *zones_; }
  const Policy& policy() const { return policy_; }
  size_t instrument_count() const { return state_.instruments.size(); }

 private:
  const Clock& clock_;
  std::shared_ptr<const ZoneIndex> zones_;
  Policy policy_;
  EngineState state_;
  std::map<EventType, std::shared_ptr<const EventHandler>> handlers_;
  std::vector<std::shared_ptr<const TickHandler>> tick_handlers_;
  std::vector<std::string> control_rooms_;
  std::vector<std::string> configured_control_rooms_;
};

// The default handlers (defined in their own files).
std::shared_ptr<const EventHandler> MakeHeartbeatHandler();
std::shared_ptr<const EventHandler> MakeInstrumentHandler();
std::shared_ptr<const EventHandler> MakeCheckPersonHandler();
std::shared_ptr<const EventHandler> MakePositionHandler();         // tag.position
std::shared_ptr<const EventHandler> MakeCurfewViolationHandler();  // tag.curfew_violation
std::shared_ptr<const EventHandler> MakeIncidentHandler();         // check.incident
std::shared_ptr<const EventHandler> MakeDeviceHandler();   // tag.strap_tamper/battery/signal/home_unit
std::shared_ptr<const EventHandler> MakeCustodyHandler();  // custody.arrested / custody.released
// Protocol 9.3: the proximity condition, judged on tag.position (after the
// position handler) and victim.position; victim.panic.
std::shared_ptr<const EventHandler> MakeProximityHandler();
std::shared_ptr<const EventHandler> MakeVictimPanicHandler();
// Runs `handlers` in order on one event, each adding to the same Outcome (one
// handler per concern for an event kind that several rules judge).
std::shared_ptr<const EventHandler> MakeHandlerChain(
    std::vector<std::shared_ptr<const EventHandler>> handlers);
// Time-driven rules (expiry warnings...), run by Engine::Tick.
std::shared_ptr<const TickHandler> MakeExpiryTickHandler();

}  // namespace bw
