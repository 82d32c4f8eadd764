// EngineState: everything the engine remembers between events.
//
// Handlers read it (const) to decide; only Engine::Apply changes it, by
// running the mutations of a decided Outcome (see engine.h for when).  The
// whole state is a function of the handled events in the order they were
// handled, so the daemon rebuilds it after a restart (or a failed commit) by
// replaying them from the journal.
//
// Thread-safety: none; owned by the Engine, used from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <chrono>

#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/geo/geometry.h"
#include "handlers/instruments/instrument.h"

namespace bw {

// Hashes a person id given as a std::string, std::string_view or string
// literal alike, so that lookups need not build a std::string.
struct PersonIdHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

// A hash map from a string (a person id) to V, for the tables read on every
// fix: Boost's open-addressing table (entries live in the table itself, so
// finding a key usually reads one group of metadata and one slot, where
// std::unordered_map reads a bucket and one or two list nodes).  Inserting or
// erasing may move entries: try_emplace, operator[], insert_or_assign and erase
// invalidate iterators, pointers and references.  Iteration order is unspecified.
template <typename V>
using FlatStringMap = boost::unordered_flat_map<std::string, V, PersonIdHash, std::equal_to<>>;

// Every version of every instrument, indexed by instrument id, subject and protected person.
//
// The person indexes are built for the per-fix hot path.  A lookup reads one
// slot, which holds a summary of each of the person's single-version
// instruments (the usual case), so that "in force at t?" needs no further
// memory, and for the subject index the FixPrefilter of each of their
// conditions, so that a fix breaching nothing reads no condition either.  Only
// a varied or ended instrument is looked up in its version list.
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
  // need not read the instrument itself; `prefilters`, when not empty, holds a
  // copy of each condition's prefilter, stored with the person's index entry.
  struct InForceRef {
    const Instrument* instrument = nullptr;
    std::span<const Condition> conditions;
    std::span<const FixPrefilter> prefilters;
  };
  using InstrumentRefs = boost::container::small_vector<InForceRef, 4>;

  InstrumentRegistry() = default;
  InstrumentRegistry(const InstrumentRegistry& other);
  InstrumentRegistry& operator=(const InstrumentRegistry& other);
  InstrumentRegistry(InstrumentRegistry&&) = default;
  InstrumentRegistry& operator=(InstrumentRegistry&&) = default;

  void AddVersion(const std::string& instrument_id, Version v);
  const std::vector<Version>* VersionsOf(const std::string& instrument_id) const;
  // The latest recorded version of `instrument_id` that is an instrument (not an ending),
  // whatever the time: who supervises and owns it now.  Null when none was recorded.
  std::shared_ptr<const Instrument> LatestVersionOf(const std::string& instrument_id) const;
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
  // True when some recorded version of some instrument lists `person` in
  // protected_persons (whether or not it is in force now).
  bool IsProtectedPerson(const std::string& person) const { return by_protected_.contains(person); }
  const std::map<std::string, std::vector<Version>>& all() const { return versions_; }
  size_t size() const { return versions_.size(); }
  // Persons named by some recorded version: as subject, and as protected person.
  size_t subject_count() const { return by_subject_.size(); }
  size_t protected_count() const { return by_protected_.size(); }
  // Ids of instruments with a version whose valid_until lies in (after, up_to]
  // and has not been warned about (RecordExpiryWarning), in order of that time
  // (an id may repeat: one per such version).  What the expiry warning needs,
  // without walking every instrument, or every instrument already warned
  // about, on every tick: its cost is a lookup in an ordered index plus the
  // versions returned.  A version replaced or ended before its valid_until
  // stays listed until then (the caller checks what is in force).
  std::vector<std::string> UnwarnedValidUntilIn(TimePoint after, TimePoint up_to) const;
  // The valid_until of `instrument_id` last warned about, if any.
  std::optional<TimePoint> ExpiryWarnedFor(const std::string& instrument_id) const;
  // Records that `instrument_id` was warned about as ending at `until`: no
  // version ending then is listed by UnwarnedValidUntilIn any more (nor one
  // added later with the same valid_until: re-bail on the same date is not
  // warned about again).
  void RecordExpiryWarning(const std::string& instrument_id, TimePoint until);
  // The expiry index and warnings as they stand, and put back (a snapshot,
  // handlers/engine/engine_snapshot.h: after every version was added).
  const std::set<std::pair<TimePoint, std::string>>& unwarned_valid_until() const {
    return unwarned_valid_until_;
  }
  const std::map<std::string, TimePoint>& expiry_warnings() const { return expiry_warned_; }
  void RestoreExpiryIndex(std::set<std::pair<TimePoint, std::string>> unwarned,
                          std::map<std::string, TimePoint> warned) {
    unwarned_valid_until_ = std::move(unwarned);
    expiry_warned_ = std::move(warned);
  }
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
    std::shared_ptr<const Instrument> only;  // the single version's instrument
    std::span<const Condition> conditions;   // single: only->conditions
    bool single = false;                     // exactly one version, with an instrument
    bool matches = false;                    // single: it names the person in this role
    bool bounded = false;                    // single: it has a valid_until
    TimePoint from;                          // single: max(effective, valid_from)
    TimePoint until;                         // single and bounded: valid_until
    uint32_t first_prefilter = 0;            // single, subject index: into prefilters
  };
  struct PersonRecord {
    boost::container::small_vector<Item, 2> items;  // in the order first recorded
  };
  struct SubjectRecord : PersonRecord {
    // The prefilters of the single-version items' conditions, item after item.
    boost::container::small_vector<FixPrefilter, 3> prefilters;
  };
  using SubjectIndex = FlatStringMap<SubjectRecord>;
  using ProtectedIndex = FlatStringMap<PersonRecord>;

  static std::shared_ptr<const Instrument> InForceIn(const std::vector<Version>& versions,
                                                     TimePoint t);
  template <typename Index>
  static void Link(Index* index, const std::string& person, Entry e);
  static void Summarise(Item* item, const std::string& person, Role role);
  static void CollectPrefilters(SubjectRecord* record);
  // Re-summarises every item of `e` (after a version was added to it).
  void Resummarise(Entry e);
  // The instrument of `item` in force at `t` for `person` in `role`, or null.
  static const Instrument* InForce(const Item& item, const std::string& person, TimePoint t,
                                   Role role);
  template <typename Index>
  std::vector<std::shared_ptr<const Instrument>> InForceFor(const Index& index,
                                                            const std::string& person, TimePoint t,
                                                            Role role) const;
  // `index` rebuilt over this registry's versions_ (after a copy).
  template <typename Index>
  Index Repoint(const Index& index, Role role) const;

  VersionMap versions_;
  // (valid_until, instrument id) of every version that has one, except those
  // warned about (expiry_warned_).
  std::set<std::pair<TimePoint, std::string>> unwarned_valid_until_;
  std::map<std::string, TimePoint> expiry_warned_;  // instrument_id -> valid_until warned about
  SubjectIndex by_subject_;
  ProtectedIndex by_protected_;
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
  AlertKind alert_kind = AlertKind::kExclusionZoneBreach;  // of the episode's alert
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

// A GPS fix of a party to a proximity condition (protocol 9.3): the subject's
// tag or the protected person's own device.
struct ProximityFix {
  TimePoint time;
  GeoPoint at{0, 0};
  double accuracy_m = 0;
};

// The recent fixes of one party, ordered by event time, so that a late fix of
// the other party is judged against the fix of its own time.  Bounded: at most
// kMaxProximityFixes, the oldest dropped first.
inline constexpr size_t kMaxProximityFixes = 64;
struct FixTrack {
  std::vector<ProximityFix> fixes;  // by event time; equal times in arrival order

  // Records `fix` (a repeated time keeps both).
  void Add(const ProximityFix& fix);
  // The fix nearest in event time to `t`, when at most `max_age` from it (the
  // older of two equally near); nullopt when there is none.
  std::optional<ProximityFix> Nearest(TimePoint t, std::chrono::seconds max_age) const;
  // The newest fix, if any.
  std::optional<ProximityFix> Latest() const;
};

// One period in custody: from arrest to a release other than remand (open while in custody).
struct CustodyInterval {
  TimePoint from;
  std::optional<TimePoint> until;  // none: still in custody

  bool Contains(TimePoint t) const { return from <= t && (!until || t < *until); }
};

// One counted breach (an episode opened, or a breach arrest), for repeat-breach counting.
struct BreachRecord {
  TimePoint time;
  AlertKind kind = AlertKind::kExclusionZoneBreach;
  std::string instrument_id;
};

// One line of a person's history (protocol 9.1): a counted breach (an episode
// opened, or a breach arrest), an arrest for an offence, a release, or a
// variation of one of their instruments (re-bail on the same conditions
// included).  Kept per person, ordered by time, at most policy.history_max.
struct HistoryEntry {
  TimePoint time;
  // An AlertKind name for breaches and arrests ("exclusion_zone_breach",
  // "breach_arrest", "subject_arrested"...), "custody_release" or
  // "instrument_varied".
  std::string kind;
  std::string instrument_id;  // may be empty (an arrest or release with none named or in force)
  std::string condition_id;   // breaches of a condition
  // custody_release: its outcome (rebailed, court_bailed, ...).  A breach: the
  // outcome recorded for its alert (alert.resolve), once the daemon tells the
  // engine (Engine::RecordAlertOutcome).
  std::string outcome;
  bool same_conditions = false;  // instrument_varied: the conditions did not change
  std::string cause_source;      // the event it came from (source, id)
  std::string cause_id;
};

struct EngineState {
  InstrumentRegistry instruments;
  std::map<EpisodeKey, Episode> episodes;
  FlatStringMap<LastFix> last_fix;                              // by person
  std::map<std::string, std::vector<CustodyInterval>> custody;  // by person, ordered
  std::map<std::string, std::vector<BreachRecord>> breaches;    // by person, ordered by time
  std::map<std::string, std::vector<HistoryEntry>> history;     // by person, ordered by time
  // Protocol 9.3.  Subjects' tag fixes, kept only for a subject with a proximity
  // condition in force at the fix's time; and protected persons' device fixes,
  // kept only for a person some instrument in force protects.
  FlatStringMap<FixTrack> proximity_subject_fixes;  // by subject
  FlatStringMap<FixTrack> protected_person_fixes;   // by protected person

  void Clear();
  // True when `person` was in custody at `t`.
  bool InCustodyAt(const std::string& person, TimePoint t) const;
  // The start of the custody interval containing `t`, if `person` was in custody then.
  std::optional<TimePoint> CustodySince(const std::string& person, TimePoint t) const;
};

}  // namespace bw
