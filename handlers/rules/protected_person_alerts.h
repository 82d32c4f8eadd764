// What the handlers of the protected person's device share (protocol 9.3;
// rules/proximity_handler.cc, rules/victim_panic_handler.cc): the officer and
// control copies of an alert about her safety (the privacy rule is stated in
// handlers/alerts/protected_location.h) and their recipients.
//
// Pure functions; thread-safety as for handlers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "handlers/alerts/alert.h"
#include "handlers/engine/engine_state.h"
#include "handlers/instruments/instrument.h"

namespace bw {

// {"time", "at": [lon, lat], "accuracy_m"}.
boost::json::object FixJson(const ProximityFix& fix);

// Where the protected person is, for the control copy.
struct ProtectedPersonWhere {
  std::string person_id;
  std::optional<ProximityFix> fix;  // none: not known
  std::vector<std::string> areas;   // every zone code containing the fix
};

// The two copies of `base` (header, summary and extras common to both; its
// location the subject's fix or none; no recipients yet): extra "copy" set to
// "officer" / "control", and the control copy also carries `where` under
// kProtectedPersonLocationKey.
struct AlertCopies {
  Alert officer;
  Alert control;
};
AlertCopies CopiesForOfficersAndControl(const Alert& base, const ProtectedPersonWhere& where);

// The officers of a case told about the protected person's safety: the OIC and
// every safety contact (officer topics).
void AddCaseOfficers(const Instrument& instrument, Alert* a);

}  // namespace bw
