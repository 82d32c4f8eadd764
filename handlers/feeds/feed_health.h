// FeedHealth: sequence and liveness bookkeeping for the inbound feeds
// (protocol sections 2 and 5.4), kept apart from sockets so it can be tested
// with an injected clock.
//
// - Every source numbers its messages 1, 2, 3... (heartbeats included).  A
//   message whose seq jumps past last+1 opens a gap [last+1, seq-1]; messages
//   that arrive later with a seq inside the gap (replayed, or late) fill it.
//   A source's first message (nothing stored from it) with seq N > 1 opens the
//   gap [1, N-1] (protocol 9.5) unless its feed joins mid-stream.
//   (Implausible seqs never get here: the matcher disregards them,
//   handlers/feeds/seq_plausibility.h.)
//   A gap still (partly) open at its deadline is reported once and forgotten.
// - A feed that sends nothing for its silent_after_s becomes silent (reported
//   once); its next message restores it (reported once).
//
// Thread-safety: none; used from the daemon's loop thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "handlers/base/clock.h"

namespace bw {

class FeedHealth {
 public:
  struct Gap {
    std::string feed;
    std::string source;
    int64_t from_seq = 0;
    int64_t to_seq = 0;
    TimePoint deadline;
  };
  struct Silence {
    std::string feed;
    bool silent = false;  // true: became silent; false: spoke again
    int64_t quiet_for_s = 0;
  };

  // Registers a configured feed; it counts as last heard from at `now`.
  // `joins_mid_stream`: a new source's first seq is taken as it comes (no gap from 1).
  void AddFeed(const std::string& feed, int64_t silent_after_s, TimePoint now,
               bool joins_mid_stream = false);
  // The highest seq already stored for a source (start-up), without opening gaps.
  void SetLastSeq(const std::string& feed, const std::string& source, int64_t seq);
  int64_t LastSeq(const std::string& feed, const std::string& source) const;
  const std::map<std::pair<std::string, std::string>, int64_t>& last_seqs() const {
    return last_seq_;
  }

  // Any message on `feed` (even one that is rejected) proves it alive.
  // Returns the "restored" transition when the feed had been silent.
  std::optional<Silence> Heard(const std::string& feed, TimePoint now);
  // A message with a seq from `source`.  Returns the gap it opens, if any.
  std::optional<Gap> Observe(const std::string& feed, const std::string& source, int64_t seq,
                             TimePoint now, int64_t gap_fill_s);

  // Gaps past their deadline with seqs still missing: the still-missing span of
  // each (lowest to highest missing seq); they are forgotten once returned.
  std::vector<Gap> ExpiredGaps(TimePoint now);
  // Seqs still missing across all open gaps.
  int64_t MissingCount() const;
  // Feeds that have just become silent.
  std::vector<Silence> CheckSilence(TimePoint now);
  bool IsSilent(const std::string& feed) const;
  std::optional<TimePoint> LastHeard(const std::string& feed) const;

 private:
  struct FeedState {
    int64_t silent_after_s = 60;
    TimePoint last_heard;
    bool silent = false;
    bool joins_mid_stream = false;
  };
  std::map<std::string, FeedState> feeds_;
  std::map<std::pair<std::string, std::string>, int64_t> last_seq_;
  std::vector<Gap> gaps_;  // each is a still-missing [from, to] span
};

}  // namespace bw
