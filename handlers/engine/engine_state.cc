#include "handlers/engine/engine_state.h"

#include <algorithm>
#include <functional>
#include <type_traits>
#include <utility>

namespace bw {

// InstrumentRegistry.

InstrumentRegistry::InstrumentRegistry(const InstrumentRegistry& other)
    : versions_(other.versions_),
      unwarned_valid_until_(other.unwarned_valid_until_),
      expiry_warned_(other.expiry_warned_),
      by_subject_(Repoint(other.by_subject_, Role::kSubject)),
      by_protected_(Repoint(other.by_protected_, Role::kProtected)) {}

InstrumentRegistry& InstrumentRegistry::operator=(const InstrumentRegistry& other) {
  if (this != &other) {
    versions_ = other.versions_;
    unwarned_valid_until_ = other.unwarned_valid_until_;
    expiry_warned_ = other.expiry_warned_;
    by_subject_ = Repoint(other.by_subject_, Role::kSubject);
    by_protected_ = Repoint(other.by_protected_, Role::kProtected);
  }
  return *this;
}

template <typename Index>
Index InstrumentRegistry::Repoint(const Index& index, Role role) const {
  Index out;
  for (const auto& [person, record] : index) {
    auto& mine = out[person];
    for (const Item& item : record.items) {
      Item copy;
      copy.entry = &*versions_.find(item.entry->first);
      Summarise(&copy, person, role);
      mine.items.push_back(copy);
    }
    if constexpr (std::is_same_v<Index, SubjectIndex>) CollectPrefilters(&mine);
  }
  return out;
}

template <typename Index>
void InstrumentRegistry::Link(Index* index, const std::string& person, Entry e) {
  PersonRecord& record = (*index)[person];
  for (const Item& item : record.items) {
    if (item.entry == e) return;
  }
  Item item;
  item.entry = e;
  record.items.push_back(item);
}

void InstrumentRegistry::Summarise(Item* item, const std::string& person, Role role) {
  const std::vector<Version>& versions = item->entry->second;
  item->single = versions.size() == 1 && versions.front().instrument != nullptr;
  item->only = nullptr;
  item->conditions = {};
  item->matches = item->bounded = false;
  if (!item->single) return;
  const Instrument& ins = *versions.front().instrument;
  item->only = versions.front().instrument;
  item->conditions = ins.conditions;
  item->matches = role == Role::kSubject
                      ? ins.subject == person
                      : std::find(ins.protected_persons.begin(), ins.protected_persons.end(),
                                  person) != ins.protected_persons.end();
  item->from = std::max(versions.front().effective, ins.valid_from);
  item->bounded = ins.valid_until.has_value();
  if (item->bounded) item->until = *ins.valid_until;
}

void InstrumentRegistry::CollectPrefilters(SubjectRecord* record) {
  record->prefilters.clear();
  for (Item& item : record->items) {
    item.first_prefilter = static_cast<uint32_t>(record->prefilters.size());
    if (!item.single) continue;
    for (const Condition& c : item.conditions) record->prefilters.push_back(c.prefilter);
  }
}

void InstrumentRegistry::Resummarise(Entry e) {
  auto update = [e](auto& index, const std::string& person, Role role) {
    auto it = index.find(person);
    if (it == index.end()) return;
    for (Item& item : it->second.items) {
      if (item.entry == e) Summarise(&item, person, role);
    }
    if constexpr (std::is_same_v<std::decay_t<decltype(index)>, SubjectIndex>) {
      CollectPrefilters(&it->second);
    }
  };
  for (const Version& v : e->second) {
    if (!v.instrument) continue;
    update(by_subject_, v.instrument->subject, Role::kSubject);
    for (const auto& p : v.instrument->protected_persons)
      update(by_protected_, p, Role::kProtected);
  }
}

void InstrumentRegistry::AddVersion(const std::string& instrument_id, Version v) {
  auto [entry, inserted] = versions_.try_emplace(instrument_id);
  auto& versions = entry->second;
  // Ordered by effective time; equal times keep arrival order.
  auto pos = std::upper_bound(versions.begin(), versions.end(), v.effective,
                              [](TimePoint t, const Version& x) { return t < x.effective; });
  const Entry e = &*entry;
  if (v.instrument && v.instrument->valid_until) {
    const auto warned = expiry_warned_.find(instrument_id);
    if (warned == expiry_warned_.end() || warned->second != *v.instrument->valid_until) {
      unwarned_valid_until_.emplace(*v.instrument->valid_until, instrument_id);
    }
  }
  if (v.instrument) {
    Link(&by_subject_, v.instrument->subject, e);
    for (const auto& p : v.instrument->protected_persons) Link(&by_protected_, p, e);
  }
  versions.insert(pos, std::move(v));
  Resummarise(e);
}

const std::vector<InstrumentRegistry::Version>* InstrumentRegistry::VersionsOf(
    const std::string& instrument_id) const {
  auto it = versions_.find(instrument_id);
  return it == versions_.end() ? nullptr : &it->second;
}

std::shared_ptr<const Instrument> InstrumentRegistry::LatestVersionOf(
    const std::string& instrument_id) const {
  const auto* versions = VersionsOf(instrument_id);
  if (versions == nullptr) return nullptr;
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    if (it->instrument) return it->instrument;
  }
  return nullptr;
}

std::shared_ptr<const Instrument> InstrumentRegistry::InForceIn(
    const std::vector<Version>& versions, TimePoint t) {
  const Version* current = nullptr;
  for (const auto& v : versions) {
    if (v.effective <= t) {
      current = &v;
    } else {
      break;
    }
  }
  if (current == nullptr || !current->instrument) return nullptr;
  const auto& ins = current->instrument;
  if (t < ins->valid_from) return nullptr;
  if (ins->valid_until && t >= *ins->valid_until) return nullptr;
  return ins;
}

std::shared_ptr<const Instrument> InstrumentRegistry::InForceAt(const std::string& instrument_id,
                                                                TimePoint t) const {
  const auto* versions = VersionsOf(instrument_id);
  if (versions == nullptr) return nullptr;
  return InForceIn(*versions, t);
}

const Instrument* InstrumentRegistry::InForce(const Item& item, const std::string& person,
                                              TimePoint t, Role role) {
  if (item.single) {
    if (!item.matches || t < item.from || (item.bounded && t >= item.until)) return nullptr;
    return item.only.get();
  }
  auto ins = InForceIn(item.entry->second, t);
  if (!ins) return nullptr;
  if (role == Role::kSubject) return ins->subject == person ? ins.get() : nullptr;
  return std::find(ins->protected_persons.begin(), ins->protected_persons.end(), person) !=
                 ins->protected_persons.end()
             ? ins.get()
             : nullptr;
}

template <typename Index>
std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::InForceFor(
    const Index& index, const std::string& person, TimePoint t, Role role) const {
  std::vector<std::shared_ptr<const Instrument>> out;
  auto it = index.find(person);
  if (it == index.end()) return out;
  for (const Item& item : it->second.items) {
    if (InForce(item, person, t, role) == nullptr) continue;
    out.push_back(item.single ? item.only : InForceIn(item.entry->second, t));
  }
  return out;
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::SubjectInForce(
    const std::string& person, TimePoint t) const {
  return InForceFor(by_subject_, person, t, Role::kSubject);
}

void InstrumentRegistry::SubjectInForce(const std::string& person, TimePoint t,
                                        InstrumentRefs* out) const {
  auto it = by_subject_.find(person);
  if (it == by_subject_.end()) return;
  const SubjectRecord& record = it->second;
  for (const Item& item : record.items) {
    const Instrument* ins = InForce(item, person, t, Role::kSubject);
    if (ins == nullptr) continue;
    if (item.single) {
      // Summarised here, with the prefilters of its conditions.
      out->push_back({ins, item.conditions,
                      std::span<const FixPrefilter>(record.prefilters.data() + item.first_prefilter,
                                                    item.conditions.size())});
    } else {
      out->push_back({ins, ins->conditions, {}});
    }
  }
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::ProtectingInForce(
    const std::string& person, TimePoint t) const {
  return InForceFor(by_protected_, person, t, Role::kProtected);
}

std::vector<std::string> InstrumentRegistry::UnwarnedValidUntilIn(TimePoint after,
                                                                  TimePoint up_to) const {
  std::vector<std::string> out;
  for (auto it = unwarned_valid_until_.upper_bound({after, std::string()});
       it != unwarned_valid_until_.end() && it->first <= up_to; ++it) {
    if (it->first > after) out.push_back(it->second);
  }
  return out;
}

std::optional<TimePoint> InstrumentRegistry::ExpiryWarnedFor(
    const std::string& instrument_id) const {
  auto it = expiry_warned_.find(instrument_id);
  if (it == expiry_warned_.end()) return std::nullopt;
  return it->second;
}

void InstrumentRegistry::RecordExpiryWarning(const std::string& instrument_id, TimePoint until) {
  expiry_warned_[instrument_id] = until;
  unwarned_valid_until_.erase({until, instrument_id});
}

void InstrumentRegistry::Clear() {
  unwarned_valid_until_.clear();
  expiry_warned_.clear();
  versions_.clear();
  by_subject_.clear();
  by_protected_.clear();
}

void EngineState::Clear() {
  instruments.Clear();
  episodes.clear();
  last_fix.clear();
  custody.clear();
  breaches.clear();
  history.clear();
  proximity_subject_fixes.clear();
  protected_person_fixes.clear();
}

void FixTrack::Add(const ProximityFix& fix) {
  auto pos = std::upper_bound(fixes.begin(), fixes.end(), fix.time,
                              [](TimePoint t, const ProximityFix& f) { return t < f.time; });
  fixes.insert(pos, fix);
  if (fixes.size() > kMaxProximityFixes) fixes.erase(fixes.begin());
}

std::optional<ProximityFix> FixTrack::Nearest(TimePoint t, std::chrono::seconds max_age) const {
  const ProximityFix* best = nullptr;
  auto gap = [t](const ProximityFix& f) { return f.time < t ? t - f.time : f.time - t; };
  // The first fix at or after t, and the last before it, are the only candidates.
  auto after = std::lower_bound(fixes.begin(), fixes.end(), t,
                                [](const ProximityFix& f, TimePoint x) { return f.time < x; });
  if (after != fixes.begin()) best = &*std::prev(after);
  if (after != fixes.end() && (best == nullptr || gap(*after) < gap(*best))) best = &*after;
  if (best == nullptr || gap(*best) > max_age) return std::nullopt;
  return *best;
}

std::optional<ProximityFix> FixTrack::Latest() const {
  if (fixes.empty()) return std::nullopt;
  return fixes.back();
}

bool EngineState::InCustodyAt(const std::string& person, TimePoint t) const {
  return CustodySince(person, t).has_value();
}

std::optional<TimePoint> EngineState::CustodySince(const std::string& person, TimePoint t) const {
  auto it = custody.find(person);
  if (it == custody.end()) return std::nullopt;
  for (const auto& c : it->second) {
    if (c.Contains(t)) return c.from;
  }
  return std::nullopt;
}

}  // namespace bw
