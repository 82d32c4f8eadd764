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

#include <chrono>

#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/geo/geometry.h"
#include "handlers/instruments/instrument.h"

namespace bw {

// A hash map from a string (a person id) to V, for the tables read on every
// fix.  Entries live in the table itself (open addressing, linear probing, at
// most half full), so finding a key usually reads one cache-line-aligned slot
// where std::unordered_map reads a bucket and one or two list nodes.  It offers
// the common part of the std::unordered_map interface, but inserting or erasing
// may move entries: try_emplace, operator[], insert_or_assign and erase
// invalidate iterators, pointers and references.  Iteration order is unspecified.
template <typename V>
class FlatStringMap {
  struct alignas(64) Slot {
    std::optional<std::pair<const std::string, V>> entry;
  };

 public:
  using key_type = std::string;
  using mapped_type = V;
  using value_type = std::pair<const std::string, V>;

  template <bool kConst>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<const std::string, V>;
    using SlotPtr = std::conditional_t<kConst, const Slot*, Slot*>;
    using Ref = std::conditional_t<kConst, const value_type&, value_type&>;
    using Ptr = std::conditional_t<kConst, const value_type*, value_type*>;
    using difference_type = std::ptrdiff_t;
    using pointer = Ptr;
    using reference = Ref;
    Iter() = default;
    Iter(SlotPtr at, SlotPtr end) : at_(at), end_(end) { Skip(); }
    operator Iter<true>() const { return Iter<true>(at_, end_); }  // NOLINT: as std
    Ref operator*() const { return *at_->entry; }
    Ptr operator->() const { return &*at_->entry; }
    Iter& operator++() {
      ++at_;
      Skip();
      return *this;
    }
    Iter operator++(int) {
      Iter before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iter& o) const { return at_ == o.at_; }

   private:
    void Skip() {
      while (at_ != end_ && !at_->entry) ++at_;
    }
    SlotPtr at_ = nullptr;
    SlotPtr end_ = nullptr;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  iterator begin() { return {slots_.data(), slots_.data() + slots_.size()}; }
  iterator end() { return {slots_.data() + slots_.size(), slots_.data() + slots_.size()}; }
  const_iterator begin() const { return {slots_.data(), slots_.data() + slots_.size()}; }
  const_iterator end() const {
    return {slots_.data() + slots_.size(), slots_.data() + slots_.size()};
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    size_ = 0;
  }

  iterator find(std::string_view key) {
    const size_t i = Locate(key);
    return i == kNone ? end() : iterator(&slots_[i], slots_.data() + slots_.size());
  }
  const_iterator find(std::string_view key) const {
    const size_t i = Locate(key);
    return i == kNone ? end() : const_iterator(&slots_[i], slots_.data() + slots_.size());
  }
  size_t count(std::string_view key) const { return Locate(key) == kNone ? 0 : 1; }
  bool contains(std::string_view key) const { return Locate(key) != kNone; }
  V& at(std::string_view key) {
    return const_cast<V&>(static_cast<const FlatStringMap&>(*this).at(key));
  }
  const V& at(std::string_view key) const {
    const size_t i = Locate(key);
    if (i == kNone) throw std::out_of_range("FlatStringMap::at");
    return slots_[i].entry->second;
  }
  V& operator[](const std::string& key) { return try_emplace(key).first->second; }

  template <typename... Args>
  std::pair<iterator, bool> try_emplace(const std::string& key, Args&&... args) {
    if (const size_t i = Locate(key); i != kNone) {
      return {iterator(&slots_[i], slots_.data() + slots_.size()), false};
    }
    if (2 * (size_ + 1) > slots_.size()) Grow();
    const size_t i = FreeSlot(Hash(key));
    slots_[i].entry.emplace(std::piecewise_construct, std::forward_as_tuple(key),
                            std::forward_as_tuple(std::forward<Args>(args)...));
    ++size_;
    return {iterator(&slots_[i], slots_.data() + slots_.size()), true};
  }
  template <typename M>
  std::pair<iterator, bool> insert_or_assign(const std::string& key, M&& value) {
    auto result = try_emplace(key, std::forward<M>(value));
    if (!result.second) result.first->second = std::forward<M>(value);
    return result;
  }
  size_t erase(std::string_view key) {
    size_t hole = Locate(key);
    if (hole == kNone) return 0;
    slots_[hole].entry.reset();
    --size_;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    const size_t mask = slots_.size() - 1;
    for (size_t j = (hole + 1) & mask; slots_[j].entry; j = (j + 1) & mask) {
      const size_t home = Hash(slots_[j].entry->first) & mask;
      // Move j to the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole].entry.emplace(std::move(*slots_[j].entry));
      slots_[j].entry.reset();
      hole = j;
    }
    return 1;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static size_t Hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
  size_t Locate(std::string_view key) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (!slots_[i].entry) return kNone;
      if (slots_[i].entry->first == key) return i;
    }
  }
  size_t FreeSlot(size_t hash) const {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].entry) i = (i + 1) & mask;
    return i;
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(std::max<size_t>(16, 2 * old.size()));
    for (Slot& from : old) {
      if (from.entry)
        slots_[FreeSlot(Hash(from.entry->first))].entry.emplace(std::move(*from.entry));
    }
  }

  std::vector<Slot> slots_;  // size 0 or a power of two
  size_t size_ = 0;
};

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
  // Ids of instruments with a version whose valid_until lies in (after, up_to],
  // in order of that time (an id may repeat: one per such version).  What the
  // expiry warning needs, without walking every instrument on every tick.
  std::vector<std::string> ValidUntilIn(TimePoint after, TimePoint up_to) const;
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
  // (valid_until, instrument id) of every version that has one.
  std::set<std::pair<TimePoint, std::string>> by_valid_until_;
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
  std::map<std::string, TimePoint> expiry_warned;  // instrument_id -> valid_until warned about
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
