#include "daemon/ticks.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "handlers/alerts/escalation_routing.h"

namespace bw {

Ticks::Ticks(Store& store, Matcher& matcher, Pipeline& pipeline, const Engine& engine,
             const Config& config)
    : store_(store), matcher_(matcher), pipeline_(pipeline), engine_(engine), config_(config) {}

void Ticks::Escalate(TimePoint now) {
  auto due = store_.DueEscalations(now);
  if (!due.ok()) {
    spdlog::error("cannot read escalation deadlines: {}", due.status().ToString());
    return;
  }
  JournalEntry entry;
  entry.at = now;
  for (const auto& state : *due) {
    boost::json::error_code ec;
    auto payload = boost::json::parse(state.payload, ec);
    if (ec || !payload.is_object()) continue;
    auto about = AlertFromJson(payload.get_object());
    if (!about.ok()) continue;  // this daemon never stores a payload it cannot read back
    auto decision =
        DecideEscalation(std::move(*about), state.escalation_level, state.raised_at,
                         engine_.state(), engine_.control_rooms(), config_.policy);
    entry.escalations.push_back({state.alert_id, decision.level, decision.next_at});
    if (!decision.unacknowledged) continue;
    entry.alerts.push_back(std::move(*decision.unacknowledged));
    spdlog::warn("alert #{} {} not acknowledged: escalated to level {}", state.seq, state.kind,
                 decision.level);
  }
  Status s = matcher_.MatchTick(now, &entry);
  if (!s.ok() || entry.empty()) return;
  const bool engine_changed = !entry.items.empty();
  auto committed = pipeline_.Commit(std::move(entry), engine_changed);
  if (!committed.ok()) {
    spdlog::error("store failure during escalation/tick (an engine change is held and committed "
                  "first, escalations are decided again next tick): {}",
                  committed.status().ToString());
  }
}

void Ticks::PurgeIfDue(TimePoint now) {
  if (now < next_retention_purge_) return;
  using std::chrono::hours;
  std::optional<TimePoint> dead_letters_before;
  if (config_.store_dead_letter_retention_days > 0) {
    dead_letters_before = now - hours(24 * config_.store_dead_letter_retention_days);
  }
  auto purged =
      store_.Purge(now, dead_letters_before, now - hours(24 * config_.store_audit_retention_days));
  if (!purged.ok()) {
    spdlog::error("retention purge failed (retried in an hour): {}", purged.status().ToString());
    next_retention_purge_ = now + hours(1);
    return;
  }
  if (purged->dead_letters > 0 || purged->audit_rows > 0) {
    spdlog::info("retention purge: {} dead letter(s), {} audit record(s) erased",
                 purged->dead_letters, purged->audit_rows);
  }
  next_retention_purge_ = now + hours(24);
}

}  // namespace bw
