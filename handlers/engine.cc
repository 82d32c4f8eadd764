#include "handlers/engine.h"

#include <exception>
#include <set>

namespace bw {

const char* InstrumentChangeKindName(InstrumentChange::Kind kind) {
  switch (kind) {
    case InstrumentChange::Kind::kGranted:
      return "granted";
    case InstrumentChange::Kind::kVaried:
      return "varied";
    case InstrumentChange::Kind::kEnded:
      return "ended";
  }
  return "unknown";
}

Engine::Engine(const Clock& clock, std::shared_ptr<const ZoneIndex> zones, Policy policy)
    : clock_(clock), zones_(std::move(zones)), policy_(policy) {
  auto store_only = MakeStoreOnlyHandler();
  for (EventType t :
       {EventType::kTagPosition, EventType::kTagCurfewViolation, EventType::kTagStrapTamper,
        EventType::kTagBattery, EventType::kTagSignal, EventType::kTagHomeUnit,
        EventType::kCustodyArrested, EventType::kCustodyReleased, EventType::kCheckIncident}) {
    handlers_[t] = store_only;
  }
  handlers_[EventType::kHeartbeat] = MakeHeartbeatHandler();
  auto instruments = MakeInstrumentHandler();
  handlers_[EventType::kInstrumentGranted] = instruments;
  handlers_[EventType::kInstrumentVaried] = instruments;
  handlers_[EventType::kInstrumentEnded] = instruments;
  handlers_[EventType::kCheckPerson] = MakeCheckPersonHandler();
}

void Engine::SetHandler(EventType type, std::shared_ptr<const EventHandler> handler) {
  handlers_[type] = std::move(handler);
}

Result<Outcome> Engine::Decide(const Event& e) const {
  auto it = handlers_.find(e.type);
  if (it == handlers_.end() || !it->second) {
    return Status::Internal(std::string("no handler for ") + EventTypeName(e.type));
  }
  HandlerContext ctx{state_, *zones_, policy_, clock_.Now()};
  Outcome out;
  try {
    Status s = it->second->Decide(e, ctx, &out);
    if (!s.ok()) return s;
  } catch (const std::exception& ex) {
    return Status::Internal(std::string(it->second->name()) + " failed: " + ex.what());
  } catch (...) {
    return Status::Internal(std::string(it->second->name()) + " failed");
  }
  return out;
}

void Engine::Apply(const Outcome& outcome) {
  for (const auto& c : outcome.changes) {
    state_.instruments.AddVersion(c.instrument_id, {c.effective, c.instrument, c.end_reason});
  }
  for (const auto& m : outcome.mutations) m(state_);
}

std::vector<std::string> Engine::MissingZoneCodes(const ZoneIndex& zones) const {
  std::set<std::string> missing;
  for (const auto& [id, versions] : state_.instruments.all()) {
    for (const auto& v : versions) {
      if (!v.instrument) continue;
      for (const auto& c : v.instrument->conditions) {
        if (!c.zone_code.empty() && zones.Find(c.zone_code) == nullptr) missing.insert(c.zone_code);
      }
    }
  }
  return {missing.begin(), missing.end()};
}

}  // namespace bw
