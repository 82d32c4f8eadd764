// See protected_person_alerts.h.
#include "handlers/rules/protected_person_alerts.h"

#include "handlers/alerts/protected_location.h"
#include "handlers/base/time_util.h"

namespace bw {

boost::json::object FixJson(const ProximityFix& fix) {
  boost::json::object o;
  o["time"] = FormatRfc3339(fix.time);
  o["at"] = boost::json::array{fix.at.x(), fix.at.y()};
  o["accuracy_m"] = fix.accuracy_m;
  return o;
}

AlertCopies CopiesForOfficersAndControl(const Alert& base, const ProtectedPersonWhere& where) {
  AlertCopies out{base, base};
  out.officer.extra[kAlertCopyKey] = "officer";
  out.control.extra[kAlertCopyKey] = "control";
  boost::json::object loc;
  loc["person_id"] = where.person_id;
  if (where.fix) {
    loc["at"] = boost::json::array{where.fix->at.x(), where.fix->at.y()};
    loc["accuracy_m"] = where.fix->accuracy_m;
    loc["time"] = FormatRfc3339(where.fix->time);
  }
  boost::json::array areas;
  for (const auto& a : where.areas) areas.emplace_back(a);
  loc["areas"] = std::move(areas);
  out.control.extra[kProtectedPersonLocationKey] = std::move(loc);
  return out;
}

void AddCaseOfficers(const Instrument& instrument, Alert* a) {
  AddRecipient(a, OfficerTopic(instrument.oic));
  for (const auto& contact : instrument.safety_contacts) AddRecipient(a, OfficerTopic(contact));
}

}  // namespace bw
