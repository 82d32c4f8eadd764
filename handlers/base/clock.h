// Clock: the one seam through which domain and daemon code learn the time.
//
// Production uses SystemClock; tests inject a ManualClock so that curfew,
// lateness and escalation logic can be tested without sleeping.
// Thread-safety: SystemClock is stateless; ManualClock is not synchronised and
// must be driven from the thread that reads it.
#pragma once

#include <chrono>

namespace bw {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Millis>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Set(TimePoint t) { now_ = t; }
  void Advance(Millis d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace bw
