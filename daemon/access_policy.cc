#include "daemon/access_policy.h"

#include <algorithm>

#include "handlers/alerts/alert.h"

namespace bw {
namespace {

constexpr std::string_view kFeedPrefix = "feed:";
constexpr std::string_view kReplayPrefix = "replay:";

// The alert topics the client receives: exact recipient topics.  Empty for an administrator
// (everything) and for feeds (nothing); see SeesEverything.
std::vector<std::string> OwnTopics(const ClientEntry& c) {
  std::vector<std::string> out;
  if (c.role == ClientRole::kOfficer) out.push_back(OfficerTopic(c.identity));
  if (c.role == ClientRole::kControlRoom) {
    for (const auto& id : c.control_ids) out.push_back(ControlTopic(id));
  }
  return out;
}

bool SeesEverything(const ClientEntry& c) { return c.role == ClientRole::kAdministrator; }

}  // namespace

std::string FeedDomain(const std::string& feed) { return std::string(kFeedPrefix) + feed; }
std::string ReplayDomain(const std::string& feed) { return std::string(kReplayPrefix) + feed; }

bool MayConnect(const ClientEntry& c, std::string_view domain, std::string* why) {
  const bool feed_socket = domain.starts_with(kFeedPrefix) || domain.starts_with(kReplayPrefix);
  if (feed_socket) {
    const std::string_view feed =
        domain.substr(domain.starts_with(kFeedPrefix) ? kFeedPrefix.size() : kReplayPrefix.size());
    if (c.role != ClientRole::kFeed) {
      *why = std::string("role ") + ClientRoleName(c.role) + " may not act as feed " +
             std::string(feed);
      return false;
    }
    if (std::find(c.feeds.begin(), c.feeds.end(), feed) == c.feeds.end()) {
      *why = "feed key not allowed to publish feed " + std::string(feed);
      return false;
    }
    return true;
  }
  if (domain == kControlDomain || domain == kAlertsDomain) {
    if (c.role == ClientRole::kFeed) {
      *why = "a feed key may not use the " + std::string(domain) + " socket";
      return false;
    }
    return true;
  }
  *why = "unknown ZAP domain \"" + std::string(domain) + "\"";
  return false;
}

bool MayRequest(const ClientEntry& c, std::string_view op, std::string_view officer_id,
                std::string* acting_for, std::string* why) {
  acting_for->clear();
  if (c.role == ClientRole::kFeed) {
    *why = "a feed key may not use the control socket";
    return false;
  }
  const bool may_act_for_others =
      c.role == ClientRole::kControlRoom || c.role == ClientRole::kAdministrator;
  if (officer_id != c.identity) {
    if (!may_act_for_others) {
      *why = "officer_id \"" + std::string(officer_id) + "\" is not the authenticated identity \"" +
             c.identity + "\"; role " + ClientRoleName(c.role) + " may not act for others";
      return false;
    }
    *acting_for = std::string(officer_id);
  }
  if (op == "event.submit" && !may_act_for_others) {
    *why = std::string("event.submit (manual entry) is for control rooms and administrators, not "
                       "role ") +
           ClientRoleName(c.role);
    return false;
  }
  return true;
}

bool MaySubscribe(const ClientEntry& c, std::string_view topic) {
  if (SeesEverything(c)) return true;
  for (const auto& own : OwnTopics(c)) {
    if (topic.starts_with(own)) return true;
  }
  return false;
}

bool MaySeeProtectedPersonRecord(const ClientEntry& c, const std::string& acting_for,
                                 const std::string& control_id) {
  if (c.role == ClientRole::kControlRoom) return true;
  return c.role == ClientRole::kAdministrator && (acting_for.empty() || !control_id.empty());
}

bool MaySeeAlert(const ClientEntry& c, const std::vector<std::string>& recipients) {
  if (SeesEverything(c)) return true;
  const auto own = OwnTopics(c);
  for (const auto& r : recipients) {
    if (std::find(own.begin(), own.end(), r) != own.end()) return true;
  }
  return false;
}

std::vector<std::string> ActorTopics(const ClientEntry* client, const std::string& officer_id,
                                     const std::string& acting_for,
                                     const std::string& control_id) {
  std::vector<std::string> topics;
  auto named = [&topics](const std::string& id) {
    if (id.empty()) return;
    topics.push_back(OfficerTopic(id));
    topics.push_back(ControlTopic(id));
  };
  if (client == nullptr) {
    named(officer_id);
  } else if (client->role != ClientRole::kAdministrator) {
    topics = OwnTopics(*client);
  }
  named(acting_for);
  if (!control_id.empty() && (client == nullptr || client->role == ClientRole::kAdministrator)) {
    topics.push_back(ControlTopic(control_id));
  }
  return topics;
}

}  // namespace bw
