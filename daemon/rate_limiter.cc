#include "daemon/rate_limiter.h"

#include <algorithm>

namespace bw {

RateLimiter::RateLimiter(double rate_per_s, double burst, std::chrono::seconds summary_interval)
    : rate_(rate_per_s), burst_(std::max(1.0, burst)), summary_interval_(summary_interval) {}

bool RateLimiter::Admit(const std::string& identity, const std::string& op, TimePoint now) {
  auto [it, fresh] = buckets_.try_emplace(identity);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst_;
    b.refilled = now;
  } else if (now > b.refilled) {
    const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.refilled = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  ++refused_total_;
  Summary& s = b.pending;
  if (s.refused == 0) s.first = now;
  s.last = now;
  ++s.refused;
  ++s.by_op[op.empty() ? "(none)" : op.substr(0, 64)];
  return false;
}

std::vector<RateLimiter::Summary> RateLimiter::TakeAuditSummaries(TimePoint now, bool all) {
  std::vector<Summary> out;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket& b = it->second;
    const bool due = b.last_summary == TimePoint{} || now - b.last_summary >= summary_interval_;
    if (b.pending.refused > 0 && (due || all)) {
      b.pending.identity = it->first;
      out.push_back(std::move(b.pending));
      b.pending = Summary{};
      b.last_summary = now;
    }
    // Forget an identity whose bucket is full again and that has nothing left to report.
    const bool refilled =
        std::chrono::duration<double>(now - b.refilled).count() * rate_ + b.tokens >= burst_;
    if (b.pending.refused == 0 && refilled && now - b.last_summary >= summary_interval_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace bw
