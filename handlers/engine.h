// Engine: the domain core.  Holds every instrument version and decides what an
// event means (which conditions it breaches, which alerts go to whom).
//
// The engine never performs I/O.  Handling is split in two so that nothing is
// half-applied: Decide() computes an Outcome without changing state; the daemon
// commits the Outcome to the store and then calls Apply().  If a commit fails,
// the daemon rebuilds the engine from the store (Reset() + Restore()).
//
// Thread-safety: not synchronised.  The daemon owns one Engine and uses it from
// its event-loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "handlers/alert.h"
#include "handlers/clock.h"
#include "handlers/event.h"
#include "handlers/instrument.h"
#include "handlers/policy.h"
#include "handlers/status.h"
#include "handlers/zone_index.h"

namespace bw {

// One recorded change to an instrument: a version (granted/varied) or its end.
struct InstrumentChange {
  enum class Kind { kGranted, kVaried, kEnded };
  Kind kind = Kind::kGranted;
  std::string instrument_id;
  TimePoint effective;                           // the event time from which this change applies
  std::shared_ptr<const Instrument> instrument;  // granted / varied
  std::string end_reason;                        // ended
};
const char* InstrumentChangeKindName(InstrumentChange::Kind kind);

// What handling one event amounts to.
struct Outcome {
  std::vector<InstrumentChange> changes;
  std::vector<Alert> alerts;
  std::string note;  // human-readable result, stored with the inbound message
};

class Engine {
 public:
  Engine(const Clock& clock, std::shared_ptr<const ZoneIndex> zones, Policy policy);

  // Decides what `event` means; does not change the engine.  A BadInput status
  // means the event is valid JSON but cannot be applied (e.g. an unknown zone
  // code or a variation of an unknown instrument): the caller dead-letters it.
  Result<Outcome> Decide(const Event& event) const;

  // Applies the state changes of an Outcome that has been committed.
  void Apply(const Outcome& outcome);

  // Start-up and recovery: forget everything / re-apply one stored change.
  void Reset();
  void Restore(const InstrumentChange& change);

  // Instruments with `person` as subject in force at `t`.
  std::vector<std::shared_ptr<const Instrument>> InForce(const std::string& person,
                                                         TimePoint t) const;

  // Every zone code used by an instrument that `zones` lacks; empty when a zone
  // reload is safe.
  std::vector<std::string> MissingZoneCodes(const ZoneIndex& zones) const;

  void SetZones(std::shared_ptr<const ZoneIndex> zones) { zones_ = std::move(zones); }
  void SetPolicy(const Policy& policy) { policy_ = policy; }
  const ZoneIndex& zones() const { return *zones_; }
  const Policy& policy() const { return policy_; }
  size_t instrument_count() const { return versions_.size(); }

 private:
  struct Version {
    TimePoint effective;
    std::shared_ptr<const Instrument> instrument;  // null for an end
    std::string end_reason;
  };

  Result<Outcome> DecideInstrument(const Event& e) const;
  Result<Outcome> DecideCheckPerson(const Event& e) const;
  Status ValidateZones(const Instrument& ins) const;
  const std::vector<Version>* VersionsOf(const std::string& instrument_id) const;
  std::shared_ptr<const Instrument> VersionAt(const std::vector<Version>& versions,
                                              TimePoint t) const;
  // Control areas (first zone set) and every zone code containing the location.
  void ResolveAreas(const Location& loc, std::vector<std::string>* all_areas,
                    std::vector<std::string>* control_areas) const;
  void FillCommon(const Event& e, Alert* a) const;

  const Clock& clock_;
  std::shared_ptr<const ZoneIndex> zones_;
  Policy policy_;
  std::map<std::string, std::vector<Version>> versions_;        // by instrument_id
  std::map<std::string, std::vector<std::string>> by_subject_;  // person -> instrument ids
};

}  // namespace bw
