// Control ops that read: status, conditions.person, conditions.protected, conditions.location,
// history.person (docs/control.md).  Each names its subjects and what it disclosed in the audit row.
#include <boost/json.hpp>

#include <chrono>

#include "daemon/control/control_server.h"
#include "handlers/alerts/protected_location.h"
#include "handlers/engine/location_query.h"
#include "handlers/instruments/instrument_bodies.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

// The JSON of `ins` as received, read back from the store (the engine keeps none); a stand-in
// naming it when the store does not have it (a version decided but not yet committed).
Result<boost::json::object> InstrumentBody(Store& store, const Instrument& ins) {
  auto body = store.InstrumentRaw(ins.instrument_id, ins.version);
  if (!body.ok()) return body.status();
  if (!*body) return UnavailableInstrumentBody(ins.instrument_id, ins.version);
  return ParseInstrumentBody(**body);
}

}  // namespace

ControlServer::OpResult ControlServer::OpStatus(const ControlRequest&, OpWork* work) {
  work->answer_without_audit = true;
  return s_.status();
}

ControlServer::OpResult ControlServer::OpConditionsPerson(const ControlRequest& req,
                                                          OpWork* work) {
  const std::string& person = req.person_id;
  work->audit->subjects = person;
  const TimePoint at = req.at_time.value_or(s_.clock.Now());
  boost::json::array instruments;
  bool high_risk = false;  // protocol 9.2; each instrument object carries its own `risk`
  for (const auto& ins : s_.engine.InForce(person, at)) {
    auto body = InstrumentBody(s_.store, *ins);
    if (!body.ok()) return body.status();
    instruments.push_back(std::move(*body));
    high_risk = high_risk || (ins->risk && IsHighRisk(*ins->risk));
  }
  std::vector<std::string> breach_kinds;
  for (AlertKind k : ConditionBreachKinds()) breach_kinds.emplace_back(AlertKindName(k));
  auto breaches = s_.store.CountAlerts(person, breach_kinds);
  if (!breaches.ok()) return breaches.status();
  boost::json::object o;
  o["person_id"] = person;
  o["at_time"] = FormatRfc3339(at);
  o["instruments"] = std::move(instruments);
  o["in_custody"] = s_.engine.state().InCustodyAt(person, at);
  o["breach_count"] = *breaches;
  o["high_risk"] = high_risk;
  return o;
}

ControlServer::OpResult ControlServer::OpConditionsProtected(const ControlRequest& req,
                                                             OpWork* work) {
  const std::string& person = req.person_id;
  work->audit->subjects = person;
  const TimePoint at = req.at_time.value_or(s_.clock.Now());
  boost::json::array instruments;
  for (const auto& ins : s_.engine.state().instruments.ProtectingInForce(person, at)) {
    auto body = InstrumentBody(s_.store, *ins);
    if (!body.ok()) return body.status();
    boost::json::object o = std::move(*body);
    o["in_custody"] = s_.engine.state().InCustodyAt(ins->subject, at);
    instruments.push_back(std::move(o));
    work->audit->subjects += "," + ins->subject;
  }
  boost::json::object o;
  o["person_id"] = person;
  o["at_time"] = FormatRfc3339(at);
  o["instruments"] = std::move(instruments);
  return o;
}

ControlServer::OpResult ControlServer::OpConditionsLocation(const ControlRequest& req,
                                                            OpWork* work) {
  // One page: at most `limit` conditions and about kMaxPageBytes of them, found within one
  // kQuerySlice of scanning; `next` carries on (issue 12: no query may stall breach handling).
  const auto deadline = std::chrono::steady_clock::now() + kQuerySlice;
  const Location& loc = req.location;
  const ZoneIndex& zones = s_.engine.zones();
  const Zone* area_zone = nullptr;
  if (!loc.area.empty()) {
    area_zone = zones.Find(loc.area);
    if (area_zone == nullptr) {
      return Status::NotFound("area \"" + loc.area + "\" is not in any loaded zone set");
    }
  }
  TimePoint at = req.at_time.value_or(s_.clock.Now());
  LocationCursor from;
  if (!req.cursor.empty()) {
    auto token = DecodeLocationPageToken(req.cursor);
    if (!token.ok()) return token.status();
    if (token->place_digest != LocationPlaceDigest(loc)) {
      return Status::BadInput("cursor", "this cursor belongs to a query of another place",
                              "out_of_range");
    }
    if (req.at_time && *req.at_time != token->at) {
      return Status::BadInput("cursor", "this cursor belongs to a query at another at_time",
                              "out_of_range");
    }
    at = token->at;  // every page judges the moment of the first
    from = std::move(token->position);
  }
  ForbiddingConditionScan scan(s_.engine.state(), zones, loc, area_zone, at, from);
  boost::json::array conditions;
  size_t bytes = 0;
  std::string subjects;
  // The first call always runs, so that every page moves the cursor on however late it starts.
  for (bool first = true;
       !scan.done() && static_cast<int64_t>(conditions.size()) < req.limit &&
       bytes < kMaxPageBytes && (first || std::chrono::steady_clock::now() < deadline);
       first = false) {
    auto found = scan.Next(kScanInstrumentsPerClockCheck);
    if (!found) continue;
    const auto& [ins, c] = *found;
    boost::json::object o;
    o["subject"] = ins->subject;
    o["instrument_id"] = ins->instrument_id;
    o["instrument_kind"] = InstrumentKindName(ins->kind);
    o["oic"] = ins->oic;
    o["owning_control"] = ins->owning_control;
    auto raw = InstrumentBody(s_.store, *ins);
    if (!raw.ok()) return raw.status();
    boost::json::array protected_persons;
    for (const auto& p : ins->protected_persons) protected_persons.emplace_back(p);
    o["protected_persons"] = std::move(protected_persons);
    o["in_custody"] = s_.engine.state().InCustodyAt(ins->subject, at);
    if (const auto* conditions = raw->if_contains("conditions"); conditions && conditions->is_array()) {
      for (const auto& cv : conditions->get_array()) {
        const auto* id = cv.is_object() ? cv.get_object().if_contains("condition_id") : nullptr;
        if (id != nullptr && id->is_string() && id->get_string() == c->condition_id) {
          o["condition"] = cv;
        }
      }
    }
    bytes += boost::json::serialize(o).size();
    conditions.push_back(std::move(o));
    subjects += (subjects.empty() ? "" : ",") + ins->subject;
  }
  const bool more = !scan.done();
  work->audit->subjects = subjects;
  work->audit->detail = std::to_string(conditions.size()) + " condition(s) disclosed" +
                        (more ? "; more to page through" : "");
  boost::json::object o;
  if (loc.at) o["at"] = boost::json::array{loc.at->x(), loc.at->y()};
  if (!loc.area.empty()) o["area"] = loc.area;
  o["at_time"] = FormatRfc3339(at);
  o["conditions"] = std::move(conditions);
  o["more"] = more;
  if (more) {
    o["next"] = EncodeLocationPageToken({at, LocationPlaceDigest(loc), scan.position()});
  }
  return o;
}

ControlServer::OpResult ControlServer::OpHistoryPerson(const ControlRequest& req, OpWork* work) {
  const std::string& person = req.person_id;
  work->audit->subjects = person;
  // Protocol 9.3: a protected person's own record (her device's data, alerts about it) is for
  // control rooms.
  const bool protected_person = s_.engine.state().instruments.IsProtectedPerson(person);
  if (protected_person &&
      !s_.security.MaySeeProtectedPersonRecord(work->user_id, work->acting_for, req.control_id)) {
    return Status::Forbidden("history.person of " + person +
                             ", a person an instrument protects, is for control rooms");
  }
  auto rows = s_.store.PersonHistory(person);
  if (!rows.ok()) return rows.status();
  boost::json::array history;
  int withheld = 0;
  for (const auto& r : *rows) {
    boost::json::error_code ec;
    auto detail = boost::json::parse(r.detail, ec);
    // Never a protected person's location in a reply about the subject (the control copies of
    // proximity and panic alerts are filed under the subject).
    if (!ec && detail.is_object() && RedactProtectedPersonLocation(&detail.as_object())) {
      ++withheld;
    }
    history.push_back({{"time", FormatRfc3339(r.time)},
                       {"what", r.what},
                       {"detail", ec ? boost::json::value(r.detail) : detail}});
  }
  work->audit->detail = std::to_string(history.size()) + " record(s) disclosed";
  if (withheld > 0) {
    work->audit->detail += "; a protected person's location withheld from " +
                           std::to_string(withheld) + " alert(s)";
  }
  if (protected_person) work->audit->detail += "; the record of a protected person";
  boost::json::object o;
  o["person_id"] = person;
  o["history"] = std::move(history);
  return o;
}

}  // namespace bw
