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
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "handlers/clock.h"
#include "handlers/geometry.h"
#include "handlers/instrument.h"

namespace bw {

// Every version of every instrument, indexed by instrument id, subject and protected person.
//
// The person indexes are built for the per-fix hot path: a lookup reads one
// hash slot and one record, and the record holds a summary of each of the
// person's single-version instruments (the usual case) so that "in force at
// t?" needs no further memory; only a varied or ended instrument is looked up
// in its version list.
class InstrumentRegistry {
 public:
  struct Version {
    TimePoint effective;                           // event time from which it applies
    std::shared_ptr<const Instrument> instrument;  // null for an end
    std::string end_reason;
  };
  // An instrument in force and its conditions, as plain pointers valid until
  // the registry next changes (e.g. for the duration of a handler's Decide).
  // `conditions` is instrument->conditions, kept here so that matching a fix
  // need not read the instrument itself.
  struct InForceRef {
    const Instrument* instrument = nullptr;
    std::span<const Condition> conditions;
  };
  using InstrumentRefs = boost::container::small_vector<InForceRef, 4>;

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
  // Instruments whose subject is `person`, in force at `t`, in the order they
  // were first recorded.
  std::vector<std::shared_ptr<const Instrument>> SubjectInForce(const std::string& person,
                                                                TimePoint t) const;
  // The same instruments, in the same order, appended to `out` without taking
  // references (the matcher's hot path).
  void SubjectInForce(const std::string& person, TimePoint t, InstrumentRefs* out) const;
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
  enum class Role { kSubject, kProtected };

  // One instrument of a person.  When it has a single version, that version's
  // in-force interval is copied here.
  struct Item {
    Entry entry = nullptr;
    const Instrument* only = nullptr;       // the single version's instrument
    std::span<const Condition> conditions;  // single: only->conditions
    bool single = false;                    // exactly one version, with an instrument
    bool matches = false;                   // single: it names the person in this role
    bool bounded = false;                   // single: it has a valid_until
    TimePoint from;                         // single: max(effective, valid_from)
    TimePoint until;                        // single and bounded: valid_until
  };
  struct PersonRecord {
    std::string person;
    boost::container::small_vector<Item, 2> items;  // in the order first recorded
  };
  // person -> record; open addressing with linear probing over (hash, record).
  class PersonIndex {
   public:
    const PersonRecord* Find(const std::string& person) const;
    PersonRecord* Find(const std::string& person);
    PersonRecord& FindOrAdd(const std::string& person);
    const std::vector<std::unique_ptr<PersonRecord>>& records() const { return records_; }
    void Clear();

   private:
    struct Slot {
      size_t hash = 0;
      PersonRecord* record = nullptr;  // null: empty
    };
    void Insert(size_t hash, PersonRecord* record);

    std::vector<Slot> slots_;  // size 0 or a power of two, at most half full
    std::vector<std::unique_ptr<PersonRecord>> records_;
  };

  static std::shared_ptr<const Instrument> InForceIn(const std::vector<Version>& versions,
                                                     TimePoint t);
  static void Link(PersonIndex* index, const std::string& person, Entry e);
  static void Summarise(Item* item, const std::string& person, Role role);
  // Re-summarises every item of `e` (after a version was added to it).
  void Resummarise(Entry e);
  // The instrument of `item` in force at `t` for `person` in `role`, or null.
  static const Instrument* InForce(const Item& item, const std::string& person, TimePoint t,
                                   Role role);
  std::vector<std::shared_ptr<const Instrument>> InForceFor(const PersonIndex& index,
                                                            const std::string& person, TimePoint t,
                                                            Role role) const;
  // `index` rebuilt over this registry's versions_ (after a copy).
  PersonIndex Repoint(const PersonIndex& index, Role role) const;

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
  // Spans [opened_at, last_breach_at] of earlier episodes of the same key, most
  // recent last (bounded), so that late observations of an earlier visit join
  // the episode they belong to instead of paging again.
  std::vector<std::pair<TimePoint, TimePoint>> earlier;
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
