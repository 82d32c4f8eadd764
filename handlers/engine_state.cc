#include "handlers/engine_state.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace bw {

// PersonIndex.

const InstrumentRegistry::PersonRecord* InstrumentRegistry::PersonIndex::Find(
    const std::string& person) const {
  if (slots_.empty()) return nullptr;
  const size_t hash = std::hash<std::string>{}(person);
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.record == nullptr) return nullptr;
    if (slot.hash == hash && slot.record->person == person) return slot.record;
  }
}

InstrumentRegistry::PersonRecord& InstrumentRegistry::PersonIndex::FindOrAdd(
    const std::string& person) {
  if (PersonRecord* found = Find(person)) return *found;
  if (2 * (records_.size() + 1) > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(16, 2 * old.size()), Slot{});
    for (const Slot& slot : old) {
      if (slot.record != nullptr) Insert(slot.hash, slot.record);
    }
  }
  records_.push_back(std::make_unique<PersonRecord>());
  PersonRecord* record = records_.back().get();
  record->person = person;
  Insert(std::hash<std::string>{}(person), record);
  return *record;
}

InstrumentRegistry::PersonRecord* InstrumentRegistry::PersonIndex::Find(const std::string& person) {
  return const_cast<PersonRecord*>(std::as_const(*this).Find(person));  // records are ours
}

void InstrumentRegistry::PersonIndex::Insert(size_t hash, PersonRecord* record) {
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].record != nullptr) i = (i + 1) & mask;
  slots_[i] = Slot{hash, record};
}

void InstrumentRegistry::PersonIndex::Clear() {
  slots_.clear();
  records_.clear();
}

// InstrumentRegistry.

InstrumentRegistry::InstrumentRegistry(const InstrumentRegistry& other)
    : versions_(other.versions_),
      by_subject_(Repoint(other.by_subject_, Role::kSubject)),
      by_protected_(Repoint(other.by_protected_, Role::kProtected)) {}

InstrumentRegistry& InstrumentRegistry::operator=(const InstrumentRegistry& other) {
  if (this != &other) {
    versions_ = other.versions_;
    by_subject_ = Repoint(other.by_subject_, Role::kSubject);
    by_protected_ = Repoint(other.by_protected_, Role::kProtected);
  }
  return *this;
}

InstrumentRegistry::PersonIndex InstrumentRegistry::Repoint(const PersonIndex& index,
                                                            Role role) const {
  PersonIndex out;
  for (const auto& record : index.records()) {
    PersonRecord& mine = out.FindOrAdd(record->person);
    for (const Item& item : record->items) {
      Item copy;
      copy.entry = &*versions_.find(item.entry->first);
      Summarise(&copy, mine.person, role);
      mine.items.push_back(copy);
    }
  }
  return out;
}

void InstrumentRegistry::Link(PersonIndex* index, const std::string& person, Entry e) {
  PersonRecord& record = index->FindOrAdd(person);
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
  item->only = &ins;
  item->conditions = ins.conditions;
  item->matches = role == Role::kSubject
                      ? ins.subject == person
                      : std::find(ins.protected_persons.begin(), ins.protected_persons.end(),
                                  person) != ins.protected_persons.end();
  item->from = std::max(versions.front().effective, ins.valid_from);
  item->bounded = ins.valid_until.has_value();
  if (item->bounded) item->until = *ins.valid_until;
}

void InstrumentRegistry::Resummarise(Entry e) {
  auto update = [e](PersonIndex& index, const std::string& person, Role role) {
    PersonRecord* record = index.Find(person);
    if (record == nullptr) return;
    for (Item& item : record->items) {
      if (item.entry == e) Summarise(&item, record->person, role);
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
    return item.only;
  }
  auto ins = InForceIn(item.entry->second, t);
  if (!ins) return nullptr;
  if (role == Role::kSubject) return ins->subject == person ? ins.get() : nullptr;
  return std::find(ins->protected_persons.begin(), ins->protected_persons.end(), person) !=
                 ins->protected_persons.end()
             ? ins.get()
             : nullptr;
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::InForceFor(
    const PersonIndex& index, const std::string& person, TimePoint t, Role role) const {
  std::vector<std::shared_ptr<const Instrument>> out;
  const PersonRecord* record = index.Find(person);
  if (record == nullptr) return out;
  for (const Item& item : record->items) {
    if (InForce(item, person, t, role) == nullptr) continue;
    out.push_back(item.single ? item.entry->second.front().instrument
                              : InForceIn(item.entry->second, t));
  }
  return out;
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::SubjectInForce(
    const std::string& person, TimePoint t) const {
  return InForceFor(by_subject_, person, t, Role::kSubject);
}

void InstrumentRegistry::SubjectInForce(const std::string& person, TimePoint t,
                                        InstrumentRefs* out) const {
  const PersonRecord* record = by_subject_.Find(person);
  if (record == nullptr) return;
  for (const Item& item : record->items) {
    const Instrument* ins = InForce(item, person, t, Role::kSubject);
    if (ins == nullptr) continue;
    // A single version's conditions are summarised; others are read from the instrument.
    out->push_back(
        {ins, item.single ? item.conditions : std::span<const Condition>(ins->conditions)});
  }
}

std::vector<std::shared_ptr<const Instrument>> InstrumentRegistry::ProtectingInForce(
    const std::string& person, TimePoint t) const {
  return InForceFor(by_protected_, person, t, Role::kProtected);
}

void InstrumentRegistry::Clear() {
  versions_.clear();
  by_subject_.Clear();
  by_protected_.Clear();
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
