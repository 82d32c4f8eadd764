#include "handlers/engine_state.h"

#include <algorithm>

namespace bw {

namespace {
template <typename T>
void AddUnique(std::vector<T>* v, const T& x) {
  if (std::find(v->begin(), v->end(), x) == v->end()) v->push_back(x);
}
}  // namespace

InstrumentRegistry::InstrumentRegistry(const InstrumentRegistry& other)
    : versions_(other.versions_),
      by_subject_(Repoint(other.by_subject_)),
      by_protected_(Repoint(other.by_protected_)) {}

InstrumentRegistry& InstrumentRegistry::operator=(const InstrumentRegistry& other) {
  if (this != &other) {
    versions_ = other.versions_;
    by_subject_ = Repoint(other.by_subject_);
    by_protected_ = Repoint(other.by_protected_);
  }
  return *this;
}

InstrumentRegistry::PersonIndex InstrumentRegistry::Repoint(const PersonIndex& index) const {
  PersonIndex out;
  out.reserve(index.size());
  for (const auto& [person, entries] : index) {
    auto& mine = out[person];
    mine.reserve(entries.size());
    for (Entry e : entries) mine.push_back(&*versions_.find(e->first));
  }
  return out;
}

void InstrumentRegistry::AddVersion(const std::string& instrument_id, Version v) {
  auto [entry, inserted] = versions_.try_emplace(instrument_id);
  auto& versions = entry->second;
  // Ordered by effective time; equal times keep arrival order.
  auto pos = std::upper_bound(versions.begin(), versions.end(), v.effective,
                              [](TimePoint t, const Version& x) { return t < x.effective; });
  if (v.instrument) {
    const Entry e = &*entry;
    AddUnique(&by_subject_[v.instrument->subject], e);
    for (const auto& p : v.instrument->protected_persons) AddUnique(&by_protected_[p], e);
  }
  versions.insert(pos, std::move(v));
}

const std::vector<InstrumentRegistry::Version>* InstrumentRegistry::VersionsOf(
    const std::string& instrument_id) const {
  auto it = versions_.find(instrument_id);
  return it == versions_.end() ? nullptr : &it->second;
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

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::SubjectInForce(
    const std::string& person, TimePoint t) const {
  std::vector<std::shared_ptr<const Instrument>> out;
  auto it = by_subject_.find(person);
  if (it == by_subject_.end()) return out;
  out.reserve(it->second.size());
  for (Entry e : it->second) {
    auto ins = InForceIn(e->second, t);
    if (ins && ins->subject == person) out.push_back(std::move(ins));
  }
  return out;
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::ProtectingInForce(
    const std::string& person, TimePoint t) const {
  std::vector<std::shared_ptr<const Instrument>> out;
  auto it = by_protected_.find(person);
  if (it == by_protected_.end()) return out;
  for (Entry e : it->second) {
    auto ins = InForceIn(e->second, t);
    if (ins && std::find(ins->protected_persons.begin(), ins->protected_persons.end(), person) !=
                   ins->protected_persons.end()) {
      out.push_back(std::move(ins));
    }
  }
  return out;
}

void InstrumentRegistry::Clear() {
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
  expiry_warned.clear();
}

bool EngineState::InCustodyAt(const std::string& person, TimePoint t) const {
  auto it = custody.find(person);
  if (it == custody.end()) return false;
  for (const auto& c : it->second) {
    if (c.from <= t && (!c.until || t < *c.until)) return true;
  }
  return false;
}

}  // namespace bw
