#include "handlers/engine/engine.h"

#include <algorithm>
#include <exception>
#include <set>

#include "handlers/engine/breach_counting.h"
#include "handlers/engine/high_risk.h"

namespace bw {
namespace {

// What every alert of a decided outcome gets, whichever handler raised it: the
// person's breach_count and history (protocol 9.1) on the kinds that carry them,
// and the risk of its case (protocol 9.2: severity, recipients, ApplyRisk).
void FinishAlerts(const HandlerContext& ctx, Outcome* out) {
  for (Alert& a : out->alerts) {
    if (CarriesHistory(a.kind) && !a.person_id.empty() && !a.extra.contains("history")) {
      AttachHistory(ctx, *out, &a);
    }
    ApplyRisk(ctx, &a);
  }
}

}  // namespace

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

namespace {

class HandlerChain final : public EventHandler {
 public:
  explicit HandlerChain(std::vector<std::shared_ptr<const EventHandler>> handlers)
      : handlers_(std::move(handlers)) {}
  const char* name() const override { return handlers_.empty() ? "chain" : handlers_[0]->name(); }
  Status Decide(const Event& event, const HandlerContext& ctx, Outcome* out) const override {
    for (const auto& h : handlers_) {
      Status s = h->Decide(event, ctx, out);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  std::vector<std::shared_ptr<const EventHandler>> handlers_;
};

}  // namespace

std::shared_ptr<const EventHandler> MakeHandlerChain(
    std::vector<std::shared_ptr<const EventHandler>> handlers) {
  return std::make_shared<HandlerChain>(std::move(handlers));
}

Engine::Engine(const Clock& clock, std::shared_ptr<const ZoneIndex> zones, Policy policy)
    : clock_(clock), zones_(std::move(zones)), policy_(policy) {
  auto proximity = MakeProximityHandler();
  handlers_[EventType::kTagPosition] = MakeHandlerChain({MakePositionHandler(), proximity});
  handlers_[EventType::kVictimPosition] = proximity;
  handlers_[EventType::kVictimPanic] = MakeVictimPanicHandler();
  handlers_[EventType::kTagCurfewViolation] = MakeCurfewViolationHandler();
  handlers_[EventType::kCheckIncident] = MakeIncidentHandler();
  auto device = MakeDeviceHandler();
  for (EventType t : {EventType::kTagStrapTamper, EventType::kTagBattery, EventType::kTagSignal,
                      EventType::kTagHomeUnit}) {
    handlers_[t] = device;
  }
  auto custody = MakeCustodyHandler();
  handlers_[EventType::kCustodyArrested] = custody;
  handlers_[EventType::kCustodyReleased] = custody;
  tick_handlers_.push_back(MakeExpiryTickHandler());
  SetControlRooms({});
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
  HandlerContext ctx{state_, *zones_, policy_, clock_.Now(), control_rooms_};
  Outcome out;
  try {
    Status s = it->second->Decide(e, ctx, &out);
    if (!s.ok()) return s;
    FinishAlerts(ctx, &out);
  } catch (const std::exception& ex) {
    return Status::Internal(std::string(it->second->name()) + " failed: " + ex.what());
  } catch (...) {
    return Status::Internal(std::string(it->second->name()) + " failed");
  }
  return out;
}

Result<Outcome> Engine::Tick(TimePoint now) const {
  HandlerContext ctx{state_, *zones_, policy_, now, control_rooms_};
  Outcome out;
  for (const auto& h : tick_handlers_) {
    try {
      Status s = h->Tick(ctx, &out);
      if (!s.ok()) return s;
    } catch (const std::exception& ex) {
      return Status::Internal(std::string(h->name()) + " failed: " + ex.what());
    }
  }
  return out;
}

void Engine::SetZones(std::shared_ptr<const ZoneIndex> zones) {
  zones_ = std::move(zones);
  if (configured_control_rooms_.empty()) SetControlRooms({});
}

void Engine::SetControlRooms(std::vector<std::string> rooms) {
  configured_control_rooms_ = rooms;
  if (rooms.empty() && zones_ && !zones_->zones().empty()) {
    const std::string& first_set = zones_->zones().front().zone_set;
    for (const auto& z : zones_->zones()) {
      if (z.zone_set == first_set) rooms.push_back(z.code);
    }
  }
  control_rooms_ = std::move(rooms);
}

void Engine::Apply(const Outcome& outcome) {
  for (const auto& c : outcome.changes) {
    state_.instruments.AddVersion(c.instrument_id, {c.effective, c.instrument, c.end_reason});
  }
  if (!outcome.changes.empty()) {
    // The last fix of each person grows with the persons granted, not with the fixes: a flat
    // table that outgrows its capacity moves every entry into a new one at once (40-60 ms at
    // 100,000 persons, which every event behind it waited for: docs/benchmarks.md).  Grown here,
    // ahead and doubling, a grant pays for it and the first fix of each person does not.
    const size_t persons =
        state_.instruments.subject_count() + state_.instruments.protected_count();
    if (persons > state_.last_fix.max_load()) {
      state_.last_fix.reserve(std::max(persons, 2 * state_.last_fix.max_load()));
    }
  }
  for (const auto& m : outcome.mutations) m(state_);
  if (outcome.last_fix) {
    const auto& [person, fix] = *outcome.last_fix;
    auto [pos, inserted] = state_.last_fix.try_emplace(person, fix);
    if (!inserted && pos->second.time < fix.time) pos->second = fix;
  }
}

void Engine::RecordAlertOutcome(const Alert& alert, const std::string& outcome) {
  RecordOutcomeInHistory(&state_, alert, outcome);
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
