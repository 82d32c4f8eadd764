#include "handlers/breach_counting.h"

namespace bw {

void CountBreach(const HandlerContext&, const Event&, const Instrument& instrument,
                 const std::string& person, TimePoint time, const std::string& kind,
                 Outcome* out) {
  BreachRecord record{time, kind, instrument.instrument_id};
  out->mutations.push_back([person, record](EngineState& s) {
    auto& v = s.breaches[person];
    v.push_back(record);
  });
}

}  // namespace bw
