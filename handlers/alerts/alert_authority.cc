#include "handlers/alerts/alert_authority.h"

#include <algorithm>

namespace bw {

std::vector<std::string> TopicsMayChangeAlert(const Alert& alert, const AlertChangeContext& ctx) {
  Alert entitled;  // AddRecipient keeps the list free of duplicates and empty ids
  for (const auto& r : alert.recipients) AddRecipient(&entitled, r);
  AddRecipient(&entitled, OfficerTopic(ctx.supervisor));
  if (ctx.escalation_level >= 2) {
    // The second step goes to the owning control room and the area's (escalation_routing.h).
    AddRecipient(&entitled, ControlTopic(ctx.owning_control));
    for (const auto& area : alert.location_areas) AddRecipient(&entitled, ControlTopic(area));
  }
  return std::move(entitled.recipients);
}

bool MayChangeAlert(const Alert& alert, const AlertChangeContext& ctx,
                    const std::vector<std::string>& actor_topics) {
  const std::vector<std::string> entitled = TopicsMayChangeAlert(alert, ctx);
  return std::any_of(actor_topics.begin(), actor_topics.end(), [&](const std::string& t) {
    return !t.empty() && std::find(entitled.begin(), entitled.end(), t) != entitled.end();
  });
}

}  // namespace bw
