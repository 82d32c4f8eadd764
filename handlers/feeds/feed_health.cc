#include "handlers/feeds/feed_health.h"

#include <algorithm>

namespace bw {

void FeedHealth::AddFeed(const std::string& feed, int64_t silent_after_s, TimePoint now,
                         bool joins_mid_stream) {
  feeds_[feed] = FeedState{silent_after_s, now, false, joins_mid_stream};
}

void FeedHealth::SetLastSeq(const std::string& feed, const std::string& source, int64_t seq) {
  auto& last = last_seq_[{feed, source}];
  last = std::max(last, seq);
}

int64_t FeedHealth::LastSeq(const std::string& feed, const std::string& source) const {
  auto it = last_seq_.find({feed, source});
  return it == last_seq_.end() ? 0 : it->second;
}

std::optional<FeedHealth::Silence> FeedHealth::Heard(const std::string& feed, TimePoint now) {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  FeedState& f = it->second;
  std::optional<Silence> restored;
  if (f.silent) {
    restored = Silence{
        feed, false, std::chrono::duration_cast<std::chrono::seconds>(now - f.last_heard).count()};
    f.silent = false;
  }
  f.last_heard = std::max(f.last_heard, now);
  return restored;
}

std::optional<FeedHealth::Gap> FeedHealth::Observe(const std::string& feed,
                                                   const std::string& source, int64_t seq,
                                                   TimePoint now, int64_t gap_fill_s) {
  if (seq <= 0) return std::nullopt;
  int64_t& last = last_seq_[{feed, source}];
  if (seq <= last) {
    // Fills (part of) a gap: split the span that contains it.
    for (size_t i = 0; i < gaps_.size(); ++i) {
      Gap& g = gaps_[i];
      if (g.feed != feed || g.source != source || seq < g.from_seq || seq > g.to_seq) continue;
      if (g.from_seq == g.to_seq) {
        gaps_.erase(gaps_.begin() + static_cast<ptrdiff_t>(i));
      } else if (seq == g.from_seq) {
        ++g.from_seq;
      } else if (seq == g.to_seq) {
        --g.to_seq;
      } else {
        Gap upper = g;
        upper.from_seq = seq + 1;
        g.to_seq = seq - 1;
        gaps_.push_back(upper);
      }
      break;
    }
    return std::nullopt;
  }
  std::optional<Gap> opened;
  auto f = feeds_.find(feed);
  const bool joins_mid_stream = f != feeds_.end() && f->second.joins_mid_stream;
  if (seq > last + 1 && (last > 0 || !joins_mid_stream)) {
    Gap g{feed, source, last + 1, seq - 1, now + std::chrono::seconds(gap_fill_s)};
    gaps_.push_back(g);
    opened = g;
  }
  last = seq;
  return opened;
}

std::vector<FeedHealth::Gap> FeedHealth::ExpiredGaps(TimePoint now) {
  std::vector<Gap> expired;
  std::vector<Gap> still;
  for (auto& g : gaps_) (g.deadline <= now ? expired : still).push_back(g);
  gaps_ = std::move(still);
  // Merge spans of the same source that came from one original gap.
  std::sort(expired.begin(), expired.end(), [](const Gap& a, const Gap& b) {
    return std::tie(a.feed, a.source, a.from_seq) < std::tie(b.feed, b.source, b.from_seq);
  });
  return expired;
}

int64_t FeedHealth::MissingCount() const {
  int64_t n = 0;
  for (const auto& g : gaps_) n += g.to_seq - g.from_seq + 1;
  return n;
}

std::vector<FeedHealth::Silence> FeedHealth::CheckSilence(TimePoint now) {
  std::vector<Silence> out;
  for (auto& [name, f] : feeds_) {
    if (f.silent || f.silent_after_s <= 0) continue;
    if (now - f.last_heard >= std::chrono::seconds(f.silent_after_s)) {
      f.silent = true;
      out.push_back(
          Silence{name, true,
                  std::chrono::duration_cast<std::chrono::seconds>(now - f.last_heard).count()});
    }
  }
  return out;
}

bool FeedHealth::IsSilent(const std::string& feed) const {
  auto it = feeds_.find(feed);
  return it != feeds_.end() && it->second.silent;
}

std::optional<TimePoint> FeedHealth::LastHeard(const std::string& feed) const {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.last_heard;
}

}  // namespace bw
