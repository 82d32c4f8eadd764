// EngineState: everything the engine remembers between events.
//
// Handlers read it (const) to decide; only Engine::Apply changes it, by
// running the mutations of a committed Outcome.  The whole state is a function
// of the handled events in the order they were handled, so the daemon rebuilds
// it after a restart (or a failed commit) by replaying them from the store.
//
// Thread-safety: none; owned by the Engine, used from one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "handlers/clock.h"
#include "handlers/geometry.h"
#include "handlers/instrument.h"

namespace bw {

// Every version of every instrument, indexed by instrument id, subject and protected person.
// The person indexes are hash maps pointing straight at the version lists, so a
// fix costs one hash lookup for the person and none per instrument.
class InstrumentRegistry {
 public:
  struct Version {
    TimePoint effective;                           // event time from which it applies
    std::shared_ptr<const Instrument> instrument;  // null for an end
    std::string end_reason;
  };

  InstrumentRegistry() = default;
  InstrumentRegistry(const InstrumentRegistry& other);
  InstrumentRegistry& operator=(const InstrumentRegistry& other);
  InstrumentRegistry(InstrumentRegistry&&) = default;
  InstrumentRegistry& operator=(InstrumentRegistry&&) = default;

  void AddVersion(const std::string& instrument_id, Version v);
  const std::vector<Version>* VersionsOf(const std::string& instrument_id) const;
  // The version of `instrument_id` in force at `t`, or null (not yet granted,
  // ended, before valid_from, at or after valid_until).
  std::shared_ptr<const Instrument> InForceAt(const std::string& instrument_id, TimePoint t) const;
  // Instruments whose subject is `person`, in force at `t`.
  std::vector<std::shared_ptr<const Instrument>> SubjectInForce(const std::string& person,
                                                                TimePoint t) const;
  // Instruments protecting `person` (listed in protected_persons), in force at `t`.
  std::vector<std::shared_ptr<const Instrument>> ProtectingInForce(const std::string& person,
                                                                   TimePoint t) const;
  const std::map<std::string, std::vector<Version>>& all() const { return versions_; }
  size_t size() const { return versions_.size(); }
  void Clear();

 private:
  using VersionMap = std::map<std::string, std::vector<Version>>;
  // An entry of versions_ (id and versions); std::map nodes never move.
  using Entry = const VersionMap::value_type*;
  // person -> that person's instruments, in the order they were first recorded.
  using PersonIndex = std::unordered_map<std::string, std::vector<Entry>>;

  static std::shared_ptr<const Instrument> InForceIn(const std::vector<Version>& versions,
                                                     TimePoint t);
  // `index` re-pointed at this registry's versions_ (after a copy).
  PersonIndex Repoint(const PersonIndex& index) const;

  VersionMap versions_;
  PersonIndex by_subject_;
  PersonIndex by_protected_;
};

// Key of a breach episode: one condition of one instrument for one person.
struct EpisodeKey {
  std::string person_id;
  std::string instrument_id;
  std::string condition_id;
  auto operator<=>(const EpisodeKey&) const = default;
};

// A run of consecutive breaching observations of one condition; one alert per episode.
struct Episode {
  TimePoint opened_at;       // event time of the first breaching observation
  TimePoint last_breach_at;  // event time of the latest breaching observation
  std::string alert_kind;
};

// The latest GPS fix of a person, by event time (for zone-crossing detection).
struct LastFix {
  TimePoint time;
  GeoPoint at;
};

// One period in custody: from arrest to a release other than remand (open while in custody).
struct CustodyInterval {
  TimePoint from;
  std::optional<TimePoint> until;
};

// One counted breach (an episode opened, or a breach arrest), for repeat-breach counting.
struct BreachRecord {
  TimePoint time;
  std::string kind;
  std::string instrument_id;
};

struct EngineState {
  InstrumentRegistry instruments;
  std::map<EpisodeKey, Episode> episodes;
  std::unordered_map<std::string, LastFix> last_fix;            // by person
  std::map<std::string, std::vector<CustodyInterval>> custody;  // by person, ordered
  std::map<std::string, std::vector<BreachRecord>> breaches;    // by person, ordered by time
  std::map<std::string, TimePoint> expiry_warned;  // instrument_id -> valid_until warned about

  void Clear();
  // True when `person` was in custody at `t`.
  bool InCustodyAt(const std::string& person, TimePoint t) const;
};

}  // namespace bw
