// SeqPlausibility: is a message's seq believable as its source's new position? (issue 12,
// defect 6; docs/reliability.md "Implausible seq jumps").
//
// A source numbers its messages 1, 2, 3... (protocol section 2) and gap detection (FeedHealth)
// trusts the highest seq seen.  One bogus seq of 2^62 would make every later real seq look like an
// old message filling a gap, so real losses would raise no feed_gap, across restarts too.  So a
// seq more than `max_jump` past the source's last accepted seq (its first message counts from 0)
// is implausible: the message is still handled (its content may be a real breach), but its seq is
// not taken as the source's position and is not stored.
//
// A source that really did move on (it restarted numbering higher, or sent that many messages
// while the daemon was away) is recognised by continuing from there: `resync_after` consecutive
// implausible seqs (s, s+1, s+2...) make the last of them the source's new position; what lies
// between the old position and the run is then an ordinary gap (filled from the replay endpoint or
// raised as feed_gap).
//
// Thread-safety: none; owned by the matcher (the engine's thread).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace bw {

class SeqPlausibility {
 public:
  struct Options {
    int64_t max_jump = 1'000'000;  // 0: every seq is plausible
    int64_t resync_after = 3;
  };
  enum class Verdict {
    kPlausible,    // take the seq
    kImplausible,  // handle the message, disregard its seq
    kResync,       // the run is long enough: the seq is the source's new position
  };
  struct Judgement {
    Verdict verdict = Verdict::kPlausible;
    int64_t last = 0;  // the source's accepted position before this message
  };

  void set_options(const Options& options) { options_ = options; }
  // Forgets every source (before seeding from the journal again).
  void Clear() { sources_.clear(); }
  // The highest seq stored for a source (start-up, restore).
  void SetLast(const std::string& channel, const std::string& source, int64_t seq);
  // Judges the seq of the next message from `source` on `channel` and updates the position.
  Judgement Judge(const std::string& channel, const std::string& source, int64_t seq);

 private:
  struct SourceState {
    int64_t last = 0;
    int64_t run_last = 0;  // the latest of the current run of consecutive implausible seqs
    int64_t run_length = 0;
  };
  Options options_;
  std::map<std::pair<std::string, std::string>, SourceState> sources_;
};

}  // namespace bw
