// Breach counting for repeat-breach alerts (protocol section 5.3), and the
// person's history that travels with every breach, arrest and check
// (protocol section 9.1).
//
// One breach is one breach episode opened (an event breaching two conditions is
// two breaches) or one breach arrest.  When a person's breaches across every
// instrument reach a new multiple of repeat_breach_threshold within
// repeat_breach_window_days, one repeat_breach alert goes to the supervisor and
// owning control room of each instrument in force.
// Pure functions; thread-safety as for handlers.
#pragma once

#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "handlers/engine/event_handler.h"

namespace bw {

// Records a breach of `instrument` by `person` at `time` in `out` (as a state
// mutation, and as a line of the person's history, RecordHistory) and adds a
// repeat_breach alert to `out` when this breach reaches a new multiple of the
// threshold.  Breaches recorded earlier in the same `out` are counted too.
// `condition_id`: the condition breached (empty for a breach arrest).
void CountBreach(const HandlerContext& ctx, const Event& cause, const Instrument& instrument,
                 const std::string& person, TimePoint time, AlertKind kind, Outcome* out,
                 const std::string& condition_id = {});

// ---- The person's history (protocol 9.1) ----

// Adds `entry` to `person`'s history in `out`: as a state mutation (inserted in
// time order, the oldest dropped beyond policy.history_max) and as pending, so
// that alerts of the same Outcome include it.
void RecordHistory(const HandlerContext& ctx, const std::string& person, HistoryEntry entry,
                   Outcome* out);

// The person's history as it will be once `out` is applied, ordered by time.
std::vector<HistoryEntry> HistoryWithPending(const EngineState& state, const Outcome& out,
                                             const std::string& person);

// The `history` of an alert: newest first, at most `max` entries, each
// {"time", "kind", "instrument_id"} plus, when known, "condition_id",
// "outcome" (a release's outcome; an arrest: the outcome of the last release
// after it and before the next arrest; a breach: its alert's recorded
// outcome) and "same_conditions" (a variation).
boost::json::array PersonHistoryJson(const std::vector<HistoryEntry>& entries, int64_t max);

// The person's breaches in (t - window_days, t] (window_days <= 0: all up to t).
int64_t BreachCountAt(const std::vector<BreachRecord>& records, TimePoint t, int64_t window_days);

// The kinds that carry breach_count and history: every breach of a condition
// (ConditionBreachKinds: add a new breach kind there), breach_arrest,
// subject_arrested, check_result, repeat_breach.
bool CarriesHistory(AlertKind kind);

// Sets a->extra's "breach_count" (at a->event_time, within
// repeat_breach_window_days, breaches of `out` included), "breach_window_days"
// and "history" (PersonHistoryJson of a->person_id as it will be once `out` is
// applied).  Engine::Decide calls it for every alert of a kind that
// CarriesHistory and has no history yet; a handler may call it itself.
void AttachHistory(const HandlerContext& ctx, const Outcome& out, Alert* a);

// Records `outcome` (alert.resolve) against the history entry `alert` is about
// (same person, cause, kind, instrument and condition; an arrest alert of any
// of the person's instruments names the one arrest).  Nothing when the entry is
// not (or no longer) kept, nor for a custody_release alert (a release keeps
// its own outcome).  Engine::RecordAlertOutcome.
void RecordOutcomeInHistory(EngineState* state, const Alert& alert, const std::string& outcome);

// The person's breach records as they will be once `out` is applied (the
// state's plus out.pending_breaches), ordered by time; records at the same time
// in the order they were counted.
std::vector<BreachRecord> BreachesWithPending(const EngineState& state, const Outcome& out,
                                              const std::string& person);

}  // namespace bw
