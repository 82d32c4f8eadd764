// Breach episodes (protocol section 5.1, "Episodes, not fixes"): consecutive
// breaching observations of one condition form one episode with one alert.
// Shared by the tag.position and tag.curfew_violation handlers.
//
// An observation at `t` continues an episode of its key when `t` lies within
// exit_debounce_s of that episode's span [opened_at, last_breach_at], on either
// side — so out-of-order and late observations join the episode they belong to
// — unless the episode was last seen while the subject was in custody and `t`
// is not (the officer in the case, not paged during custody, is paged now).
// Besides the current episode, the spans of up to kMaxEarlierEpisodes earlier
// ones are remembered, for late observations of an earlier visit.
//
// Pure functions; state changes are queued as Outcome mutations.  Thread-safety
// as for handlers (read-only use of a state nobody is changing).
#pragma once

#include <string>

#include "handlers/engine/event_handler.h"

namespace bw {

inline constexpr size_t kMaxEarlierEpisodes = 16;

bool EpisodeContinues(const HandlerContext& ctx, const EpisodeKey& key, TimePoint t);
// Queues: extend the episode span that `t` continues.
void ExtendEpisode(const HandlerContext& ctx, const EpisodeKey& key, TimePoint t, Outcome* out);
// Queues: record a new episode at `t` (the current one if it is the newest,
// otherwise an earlier one).
void OpenEpisode(const EpisodeKey& key, TimePoint t, AlertKind kind, Outcome* out);

}  // namespace bw
