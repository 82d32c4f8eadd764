// RateLimiter: a token bucket per identity for control requests (issue 12: 55,000 requests in
// 30 s from one client wrote 18 MB of audit rows).  Each identity may send `rate_per_s` requests a
// second on average and `burst` at once; a request over it is refused (the caller answers it with
// an error and writes no audit row of its own).  Refusals are counted per identity and handed out
// by TakeAuditSummaries at most once per `summary_interval` per identity — one audit row saying
// how many were refused, and of which ops — so a flood costs a few rows, not one per request.
//
// Pure logic over the times it is given (no clock of its own).  Identities that have been quiet
// for long are forgotten so the table stays small.
//
// Thread-safety: not synchronised; one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "handlers/base/clock.h"

namespace bw {

class RateLimiter {
 public:
  struct Summary {
    std::string identity;
    int64_t refused = 0;
    TimePoint first{};  // the first and last refusal summarised
    TimePoint last{};
    std::map<std::string, int64_t> by_op;
  };

  RateLimiter(double rate_per_s, double burst,
              std::chrono::seconds summary_interval = std::chrono::seconds(60));

  // True when `identity` may send a request (`op`) now; false when refused (counted).
  bool Admit(const std::string& identity, const std::string& op, TimePoint now);
  // The refusals not yet summarised, for each identity whose last summary is at least
  // summary_interval old (its first one at once).
  std::vector<Summary> TakeAuditSummaries(TimePoint now, bool all = false);

  double rate_per_s() const { return rate_; }
  double burst() const { return burst_; }
  int64_t refused_total() const { return refused_total_; }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint refilled{};
    Summary pending;
    TimePoint last_summary{};
  };
  double rate_;
  double burst_;
  std::chrono::seconds summary_interval_;
  std::map<std::string, Bucket> buckets_;
  int64_t refused_total_ = 0;
};

}  // namespace bw
