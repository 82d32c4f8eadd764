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

// Acknowledgement deadlines of alerts about a high-risk case (protocol 9.2); a
// medium one (none is raised to medium) keeps ack_sla_s.medium_s.
struct AckSlaHighRisk {
  int64_t critical_s = 120;
  int64_t high_s = 300;
};

struct Policy {
  AckSla ack_sla_s;
  AckSlaHighRisk ack_sla_high_risk_s;
  int64_t exit_debounce_s = 300;
  int64_t crossing_max_gap_s = 600;
  int64_t late_after_s = 120;
  int64_t future_skew_s = 300;
  int64_t repeat_breach_threshold = 3;
  int64_t repeat_breach_window_days = 90;
  int64_t expiry_warning_h = 24;
  int64_t gap_fill_s = 10;
  // Implausible seq jumps (handlers/feeds/seq_plausibility.h).
  int64_t max_seq_jump = 1'000'000;
  int64_t seq_resync_after = 3;
  // Events dated before 1 January of this year (UTC) are rejected as bad input.
  int64_t earliest_event_year = 1990;
  int64_t history_max = 20;  // entries of a person's history on an alert (protocol 9.1)
  // Protocol 9.3: a fix of one party to a proximity condition is compared with the
  // other party's fix nearest in event time when at most this far apart.
  int64_t proximity_max_age_s = 120;
};

}  // namespace bw
