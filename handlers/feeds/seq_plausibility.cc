#include "handlers/feeds/seq_plausibility.h"

#include <algorithm>

namespace bw {

void SeqPlausibility::SetLast(const std::string& channel, const std::string& source, int64_t seq) {
  SourceState& s = sources_[{channel, source}];
  s.last = std::max(s.last, seq);
}

SeqPlausibility::Judgement SeqPlausibility::Judge(const std::string& channel,
                                                  const std::string& source, int64_t seq) {
  if (seq <= 0) return {};
  SourceState& s = sources_[{channel, source}];
  Judgement j{Verdict::kPlausible, s.last};
  // Compared as a difference: seq - last cannot overflow (both are positive int64).
  if (options_.max_jump <= 0 || seq - s.last <= options_.max_jump) {
    s.last = std::max(s.last, seq);
    s.run_length = 0;
    return j;
  }
  if (s.run_length > 0 && seq == s.run_last + 1) {
    ++s.run_length;
  } else {
    s.run_length = 1;
  }
  s.run_last = seq;
  if (s.run_length >= std::max<int64_t>(options_.resync_after, 1)) {
    s.last = seq;
    s.run_length = 0;
    j.verdict = Verdict::kResync;
    return j;
  }
  j.verdict = Verdict::kImplausible;
  return j;
}

}  // namespace bw
