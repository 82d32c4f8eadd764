// See protected_location.h.
#include "handlers/alerts/protected_location.h"

#include <algorithm>

namespace bw {
namespace {

std::string PersonIn(const boost::json::value* v) {
  if (v == nullptr || !v->is_object()) return {};
  const auto* p = v->as_object().if_contains("person_id");
  if (p == nullptr || !p->is_string() || p->as_string().empty()) return "(unnamed)";
  return std::string(p->as_string());
}

}  // namespace

std::string ProtectedPersonLocated(const Alert& alert) {
  return PersonIn(alert.extra.if_contains(kProtectedPersonLocationKey));
}

std::string ProtectedPersonLocated(const boost::json::object& payload) {
  return PersonIn(payload.if_contains(kProtectedPersonLocationKey));
}

bool RedactProtectedPersonLocation(boost::json::object* payload) {
  if (payload->erase(kProtectedPersonLocationKey) == 0) return false;
  (*payload)["protected_person_location_withheld"] = true;
  return true;
}

std::vector<std::string> ProtectedPersonsLocated(const boost::json::array& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) {
    if (!a.is_object()) continue;
    std::string who = ProtectedPersonLocated(a.as_object());
    if (!who.empty() && std::find(out.begin(), out.end(), who) == out.end()) out.push_back(who);
  }
  return out;
}

}  // namespace bw
