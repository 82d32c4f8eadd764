#include "handlers/instruments/instrument_bodies.h"

namespace bw {

boost::json::object ParseInstrumentBody(std::string_view text) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

boost::json::object UnavailableInstrumentBody(const std::string& instrument_id, uint32_t version) {
  return {{"instrument_id", instrument_id}, {"version", version}, {"unavailable", true}};
}

Status FillInstrumentBodies(const InstrumentBodyLookup& lookup, Alert* alert) {
  if (alert->embed_instruments.empty()) return Status::Ok();
  boost::json::array bodies;
  bodies.reserve(alert->embed_instruments.size());
  for (const auto& ref : alert->embed_instruments) {
    auto body = lookup(ref.instrument_id, ref.version);
    if (!body.ok()) return body.status();
    bodies.push_back(*body ? ParseInstrumentBody(**body)
                           : UnavailableInstrumentBody(ref.instrument_id, ref.version));
  }
  alert->extra["instruments"] = std::move(bodies);
  alert->embed_instruments.clear();
  return Status::Ok();
}

}  // namespace bw
