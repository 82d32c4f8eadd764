#include "handlers/engine/episodes.h"

#include <algorithm>

namespace bw {
namespace {

bool Near(TimePoint from, TimePoint to, TimePoint t, std::chrono::seconds debounce) {
  return t >= from - debounce && t <= to + debounce;
}

}  // namespace

bool EpisodeContinues(const HandlerContext& ctx, const EpisodeKey& key, TimePoint t) {
  auto it = ctx.state.episodes.find(key);
  if (it == ctx.state.episodes.end()) return false;
  const Episode& ep = it->second;
  const auto debounce = std::chrono::seconds(ctx.policy.exit_debounce_s);
  TimePoint last_seen;
  if (Near(ep.opened_at, ep.last_breach_at, t, debounce)) {
    last_seen = ep.last_breach_at;
  } else {
    bool found = false;
    for (const auto& [from, to] : ep.earlier) {
      if (Near(from, to, t, debounce)) {
        last_seen = to;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return !(ctx.state.InCustodyAt(key.person_id, last_seen) &&
           !ctx.state.InCustodyAt(key.person_id, t));
}

void ExtendEpisode(const HandlerContext& ctx, const EpisodeKey& key, TimePoint t, Outcome* out) {
  const auto debounce = std::chrono::seconds(ctx.policy.exit_debounce_s);
  out->mutations.push_back([key, t, debounce](EngineState& s) {
    Episode& ep = s.episodes[key];
    if (Near(ep.opened_at, ep.last_breach_at, t, debounce)) {
      ep.last_breach_at = std::max(ep.last_breach_at, t);
      ep.opened_at = std::min(ep.opened_at, t);
      return;
    }
    for (auto& [from, to] : ep.earlier) {
      if (Near(from, to, t, debounce)) {
        from = std::min(from, t);
        to = std::max(to, t);
        return;
      }
    }
  });
}

void OpenEpisode(const EpisodeKey& key, TimePoint t, AlertKind kind, Outcome* out) {
  out->mutations.push_back([key, t, kind](EngineState& s) {
    auto [pos, inserted] = s.episodes.try_emplace(key, Episode{t, t, kind, {}});
    if (inserted) return;
    Episode& ep = pos->second;
    if (ep.last_breach_at < t) {
      // The newest episode becomes current; the previous one is remembered.
      ep.earlier.emplace_back(ep.opened_at, ep.last_breach_at);
      ep.opened_at = ep.last_breach_at = t;
      ep.alert_kind = kind;
    } else {
      // A late observation of an earlier visit.
      ep.earlier.emplace_back(t, t);
    }
    if (ep.earlier.size() > kMaxEarlierEpisodes) ep.earlier.erase(ep.earlier.begin());
  });
}

}  // namespace bw
