// Policy: the tunable rules of breach detection and escalation (config section [policy]).
//
// Thread-safety: a plain value; the daemon builds a new Policy on reload and
// swaps it whole.
#pragma once

#include <cstdint>

namespace bw {

struct AckSla {
  int64_t critical_s = 300;
  int64_t high_s = 900;
  int64_t medium_s = 3600;
};

struct Policy {
  AckSla ack_sla_s;
  int64_t exit_debounce_s = 300;
  int64_t crossing_max_gap_s = 600;
  int64_t late_after_s = 120;
  int64_t future_skew_s = 300;
  int64_t repeat_breach_threshold = 3;
  int64_t repeat_breach_window_days = 90;
  int64_t expiry_warning_h = 24;
  int64_t gap_fill_s = 10;
  // Protocol 9.3: a fix of one party to a proximity condition is compared with the
  // other party's fix nearest in event time when at most this far apart.
  int64_t proximity_max_age_s = 120;
};

}  // namespace bw
