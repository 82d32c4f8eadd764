// Breach counting for repeat-breach alerts (protocol section 5.3).
//
// What counts as one breach: one breach episode opened (an event breaching two
// conditions opens two episodes and counts two), or one breach arrest
// (custody.arrested with reason "breach", counted once per arrest however many
// instruments are in force).  Tag device events (tamper, battery, signal, home
// unit) are not breaches of a condition and are not counted.
//
// The count for a breach at time t is the number of the person's breaches,
// across every instrument, dated in (t - repeat_breach_window_days, t], the
// breach itself included, in time order (breaches at the same time count in the
// order they were recorded).  A repeat_breach alert is raised when that count is
// a positive multiple of repeat_breach_threshold and is greater than the count at
// the person's previous breach: the count has *risen* to a new multiple (3, 6,
// 9...).  A count that stays at 3 because an old breach slid out of the window
// as a new one came in does not re-alert; a fresh cluster after a quiet spell
// does.  A late breach is judged at its own time (spec section 2).
//
// The state is read only through ctx.state plus out->pending_breaches (the
// breaches this Outcome has already counted, not yet applied).  Pure; thread-safety
// as for handlers.
#include "handlers/engine/breach_counting.h"

#include <algorithm>
#include <string_view>

#include "handlers/base/time_util.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

// Inserts `r` after every record dated at or before it; returns its index.
size_t InsertOrdered(std::vector<BreachRecord>* v, const BreachRecord& r) {
  auto pos = std::upper_bound(v->begin(), v->end(), r.time,
                              [](TimePoint t, const BreachRecord& x) { return t < x.time; });
  auto inserted = v->insert(pos, r);  // may reallocate: take begin() afterwards
  return static_cast<size_t>(inserted - v->begin());
}

}  // namespace

std::vector<BreachRecord> BreachesWithPending(const EngineState& state, const Outcome& out,
                                              const std::string& person) {
  std::vector<BreachRecord> merged;
  if (auto it = state.breaches.find(person); it != state.breaches.end()) merged = it->second;
  for (const auto& [p, r] : out.pending_breaches) {
    if (p == person) InsertOrdered(&merged, r);
  }
  return merged;
}

void CountBreach(const HandlerContext& ctx, const Event& cause, const Instrument& instrument,
                 const std::string& person, TimePoint time, AlertKind kind, Outcome* out,
                 const std::string& condition_id) {
  const BreachRecord record{time, kind, instrument.instrument_id};
  HistoryEntry line;
  line.time = time;
  line.kind = AlertKindName(kind);
  line.instrument_id = instrument.instrument_id;
  line.condition_id = condition_id;
  line.cause_source = cause.source;
  line.cause_id = cause.id;
  RecordHistory(ctx, person, std::move(line), out);

  // The person's breaches as they will be once this Outcome is applied.
  std::vector<BreachRecord> merged = BreachesWithPending(ctx.state, *out, person);
  const size_t pos = InsertOrdered(&merged, record);

  out->pending_breaches.emplace_back(person, record);
  out->mutations.push_back(
      [person, record](EngineState& s) { InsertOrdered(&s.breaches[person], record); });

  const int64_t threshold = ctx.policy.repeat_breach_threshold;
  if (threshold <= 0) return;
  const int64_t window_days = ctx.policy.repeat_breach_window_days;
  // Breaches at indexes <= i dated inside the window ending at merged[i].time.
  auto count_at = [&](size_t i) -> int64_t {
    if (window_days <= 0) return static_cast<int64_t>(i + 1);
    const TimePoint after = merged[i].time - std::chrono::days(window_days);
    auto first =
        std::upper_bound(merged.begin(), merged.begin() + static_cast<ptrdiff_t>(i) + 1, after,
                         [](TimePoint t, const BreachRecord& x) { return t < x.time; });
    return static_cast<int64_t>(i + 1) - (first - merged.begin());
  };
  const int64_t count = count_at(pos);
  const int64_t previous = pos == 0 ? 0 : count_at(pos - 1);
  if (count % threshold != 0 || count <= previous) return;

  Alert a =
      NewEventAlert(ctx, cause, AlertKind::kRepeatBreach, Severity::kHigh, person, &instrument);
  a.event_time = time;  // the counted breach's time
  std::vector<std::shared_ptr<const Instrument>> in_force =
      ctx.state.instruments.SubjectInForce(person, time);
  boost::json::array instrument_ids;
  auto add_instrument = [&](const Instrument& ins) {
    for (const auto& id : instrument_ids) {
      if (id.as_string() == ins.instrument_id) return;
    }
    instrument_ids.emplace_back(ins.instrument_id);
    AddRecipient(&a, OfficerTopic(ins.supervisor));
    AddRecipient(&a, ControlTopic(ins.owning_control));
  };
  add_instrument(instrument);
  for (const auto& ins : in_force) add_instrument(*ins);

  a.summary = person + " has breached conditions " + std::to_string(count) + " times within " +
              std::to_string(window_days) + " days (latest: " + AlertKindName(kind) + " of " +
              instrument.instrument_id + " at " + FormatRfc3339(time) + ")";
  a.extra["breach_count"] = count;
  a.extra["repeat_breach_threshold"] = threshold;
  a.extra["breach_window_days"] = window_days;
  a.extra["history"] =
      PersonHistoryJson(HistoryWithPending(ctx.state, *out, person), ctx.policy.history_max);
  a.extra["instruments_in_force"] = std::move(instrument_ids);
  a.extra["owning_control"] = instrument.owning_control;
  out->alerts.push_back(std::move(a));
}

namespace {

size_t InsertHistoryOrdered(std::vector<HistoryEntry>* v, HistoryEntry e) {
  auto pos = std::upper_bound(v->begin(), v->end(), e.time,
                              [](TimePoint t, const HistoryEntry& x) { return t < x.time; });
  auto inserted = v->insert(pos, std::move(e));
  return static_cast<size_t>(inserted - v->begin());
}

bool IsArrestKind(std::string_view kind) {
  return kind == AlertKindName(AlertKind::kBreachArrest) ||
         kind == AlertKindName(AlertKind::kSubjectArrested);
}

}  // namespace

void RecordHistory(const HandlerContext& ctx, const std::string& person, HistoryEntry entry,
                   Outcome* out) {
  const size_t max = static_cast<size_t>(std::max<int64_t>(ctx.policy.history_max, 1));
  out->pending_history.emplace_back(person, entry);
  out->mutations.push_back([person, entry = std::move(entry), max](EngineState& s) {
    auto& lines = s.history[person];
    InsertHistoryOrdered(&lines, entry);
    if (lines.size() > max) {
      lines.erase(lines.begin(), lines.begin() + static_cast<ptrdiff_t>(lines.size() - max));
    }
  });
}

std::vector<HistoryEntry> HistoryWithPending(const EngineState& state, const Outcome& out,
                                             const std::string& person) {
  std::vector<HistoryEntry> merged;
  if (auto it = state.history.find(person); it != state.history.end()) merged = it->second;
  for (const auto& [p, e] : out.pending_history) {
    if (p == person) InsertHistoryOrdered(&merged, e);
  }
  return merged;
}

boost::json::array PersonHistoryJson(const std::vector<HistoryEntry>& entries, int64_t max) {
  boost::json::array history;
  // Walking newest first: the outcome of the latest release seen since the last arrest.
  std::string release_outcome;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const HistoryEntry& e = *it;
    std::string outcome = e.outcome;
    if (e.kind == AlertKindName(AlertKind::kCustodyRelease)) {
      if (release_outcome.empty()) release_outcome = e.outcome;
    } else if (IsArrestKind(e.kind)) {
      if (!release_outcome.empty()) outcome = release_outcome;
      release_outcome.clear();
    }
    if (static_cast<int64_t>(history.size()) >= max) continue;
    boost::json::object o;
    o["time"] = FormatRfc3339(e.time);
    o["kind"] = e.kind;
    o["instrument_id"] = e.instrument_id;
    if (!e.condition_id.empty()) o["condition_id"] = e.condition_id;
    if (!outcome.empty()) o["outcome"] = outcome;
    if (e.kind == "instrument_varied") o["same_conditions"] = e.same_conditions;
    history.push_back(std::move(o));
  }
  return history;
}

int64_t BreachCountAt(const std::vector<BreachRecord>& records, TimePoint t, int64_t window_days) {
  int64_t n = 0;
  for (const auto& r : records) {
    if (r.time <= t && (window_days <= 0 || r.time > t - std::chrono::days(window_days))) ++n;
  }
  return n;
}

bool CarriesHistory(AlertKind kind) {
  if (kind == AlertKind::kBreachArrest || kind == AlertKind::kSubjectArrested ||
      kind == AlertKind::kCheckResult || kind == AlertKind::kRepeatBreach) {
    return true;
  }
  const auto& breaches = ConditionBreachKinds();
  return std::find(breaches.begin(), breaches.end(), kind) != breaches.end();
}

void AttachHistory(const HandlerContext& ctx, const Outcome& out, Alert* a) {
  const int64_t window_days = ctx.policy.repeat_breach_window_days;
  a->extra["breach_count"] =
      BreachCountAt(BreachesWithPending(ctx.state, out, a->person_id), a->event_time, window_days);
  a->extra["breach_window_days"] = window_days;
  a->extra["history"] =
      PersonHistoryJson(HistoryWithPending(ctx.state, out, a->person_id), ctx.policy.history_max);
}

void RecordOutcomeInHistory(EngineState* state, const Alert& alert, const std::string& outcome) {
  auto it = state->history.find(alert.person_id);
  if (it == state->history.end()) return;
  // A release keeps its own outcome (rebailed, charged...), whatever is recorded for its alert.
  if (alert.kind == AlertKind::kCustodyRelease) return;
  const std::string kind = AlertKindName(alert.kind);
  const bool arrest = IsArrestKind(kind);
  for (auto& e : it->second) {
    if (e.time != alert.event_time || e.kind != kind || e.cause_source != alert.caused_by_source ||
        e.cause_id != alert.caused_by_id) {
      continue;
    }
    if (!arrest && (e.instrument_id != alert.instrument_id ||
                    (!e.condition_id.empty() && e.condition_id != alert.condition_id))) {
      continue;
    }
    e.outcome = outcome;
    return;
  }
}

}  // namespace bw
