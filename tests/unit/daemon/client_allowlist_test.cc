// The clients file (security.clients_file) is validated like the main config: a bad entry is an
// error naming the entry and field.  The access rules (daemon/access_policy.h) decide what each
// role may connect to, ask and receive.
#include "daemon/client_allowlist.h"

#include <gtest/gtest.h>

#include "daemon/access_policy.h"
#include "daemon/curve_keys.h"

namespace bw {
namespace {

std::string NewPublicKey() { return GenerateCurveKeyPair()->public_z85; }

std::string Entry(const std::string& identity, const std::string& role, const std::string& key,
                  const std::string& extra = "") {
  return "[[client]]\nidentity = \"" + identity + "\"\nrole = \"" + role +
         "\"\npublic_key = \"" + key + "\"\n" + extra + "\n";
}

TEST(ClientAllowList, MapsKeysToIdentitiesAndRoles) {
  const std::string officer = NewPublicKey(), feed = NewPublicKey(), room = NewPublicKey();
  auto list = ClientAllowList::Parse(Entry("MP-PC1234", "officer", officer) +
                                         Entry("EM-PROVIDER", "feed", feed, "feeds = [\"tag\"]") +
                                         Entry("CR-LEWISHAM", "control_room", room,
                                               "control_ids = [\"E09000023\"]"),
                                     "clients.toml");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ((*list)->size(), 3u);
  const ClientEntry* e = (*list)->FindByPublicKey(officer);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->identity, "MP-PC1234");
  EXPECT_EQ(e->role, ClientRole::kOfficer);
  EXPECT_EQ((*list)->FindByIdentity("EM-PROVIDER")->feeds, std::vector<std::string>{"tag"});
  EXPECT_EQ((*list)->FindByIdentity("CR-LEWISHAM")->control_ids,
            std::vector<std::string>{"E09000023"});
  EXPECT_EQ((*list)->FindByPublicKey(NewPublicKey()), nullptr);
}

TEST(ClientAllowList, RenderedEntryParsesBack) {
  ClientEntry e{.identity = "EM-PROVIDER",
                .role = ClientRole::kFeed,
                .public_key = NewPublicKey(),
                .feeds = {"tag", "custody"},
                .control_ids = {},
                .note = "issued 2024-05-01"};
  auto list = ClientAllowList::Parse(RenderClientEntry(e), "rendered");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)->entries()[0].feeds, e.feeds);
  EXPECT_EQ((*list)->entries()[0].note, e.note);
}

TEST(ClientAllowList, SeveralKeysOfOneIdentityForRotation) {
  auto list = ClientAllowList::Parse(
      Entry("MP-PC1234", "officer", NewPublicKey()) + Entry("MP-PC1234", "officer", NewPublicKey()),
      "clients.toml");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)->size(), 2u);
}

struct BadClients {
  const char* name;
  std::string toml;
  const char* field;
  const char* message;
};

void PrintTo(const BadClients& c, std::ostream* os) { *os << c.name; }

class ClientAllowListErrors : public ::testing::TestWithParam<BadClients> {};

TEST_P(ClientAllowListErrors, NameTheEntryAndField) {
  const BadClients& c = GetParam();
  auto list = ClientAllowList::Parse(c.toml, "clients.toml");
  ASSERT_FALSE(list.ok()) << c.name;
  EXPECT_EQ(list.status().field(), c.field) << list.status().ToString();
  EXPECT_NE(list.status().message().find(c.message), std::string::npos)
      << list.status().ToString();
}

const std::string kKey = GenerateCurveKeyPair()->public_z85;

INSTANTIATE_TEST_SUITE_P(
    Kinds, ClientAllowListErrors,
    ::testing::Values(
        BadClients{"UnknownRole", Entry("X", "pilot", kKey), "client[0].role", "must be one of"},
        BadClients{"BadKey", Entry("X", "officer", "not-a-key"), "client[0].public_key",
                   "not a CURVE public key"},
        BadClients{"MissingIdentity",
                   "[[client]]\nrole = \"officer\"\npublic_key = \"" + kKey + "\"\n",
                   "client[0].identity", "missing required key"},
        BadClients{"UnknownKey", Entry("X", "officer", kKey, "colour = \"blue\""),
                   "client[0].colour", "unknown key"},
        BadClients{"FeedWithoutFeeds", Entry("X", "feed", kKey), "client[0].feeds",
                   "required for role \"feed\""},
        BadClients{"UnknownFeed", Entry("X", "feed", kKey, "feeds = [\"weather\"]"),
                   "client[0].feeds[0]", "must be one of"},
        BadClients{"OfficerWithFeeds", Entry("X", "officer", kKey, "feeds = [\"tag\"]"),
                   "client[0].feeds", "only a role \"feed\" entry"},
        BadClients{"SameKeyTwice", Entry("X", "officer", kKey) + Entry("Y", "officer", kKey),
                   "client[1].public_key", "already listed as client[0]"},
        BadClients{"IdentityWithTwoRoles",
                   Entry("X", "officer", kKey) + Entry("X", "administrator", NewPublicKey()),
                   "client[1].identity", "different role"},
        BadClients{"NotClientTables", "[server]\nkey = 1\n", "server", "unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(AccessPolicy, SocketsByRole) {
  std::string why;
  ClientEntry officer{.identity = "MP-PC1234", .role = ClientRole::kOfficer};
  ClientEntry feed{.identity = "EM", .role = ClientRole::kFeed, .feeds = {"tag"}};
  EXPECT_TRUE(MayConnect(officer, kControlDomain, &why));
  EXPECT_TRUE(MayConnect(officer, kAlertsDomain, &why));
  EXPECT_FALSE(MayConnect(officer, FeedDomain("tag"), &why));
  EXPECT_FALSE(MayConnect(feed, kControlDomain, &why));
  EXPECT_FALSE(MayConnect(feed, kAlertsDomain, &why));
  EXPECT_TRUE(MayConnect(feed, FeedDomain("tag"), &why));
  EXPECT_TRUE(MayConnect(feed, ReplayDomain("tag"), &why));
  EXPECT_FALSE(MayConnect(feed, FeedDomain("orders"), &why));
  EXPECT_FALSE(MayConnect(officer, "bogus", &why));
}

TEST(AccessPolicy, ActingForOthers) {
  std::string acting_for, why;
  ClientEntry officer{.identity = "MP-PC1234", .role = ClientRole::kOfficer};
  ClientEntry room{.identity = "CR-LW", .role = ClientRole::kControlRoom, .control_ids = {"E09000023"}};
  EXPECT_TRUE(MayRequest(officer, "status", "MP-PC1234", &acting_for, &why));
  EXPECT_TRUE(acting_for.empty());
  EXPECT_FALSE(MayRequest(officer, "status", "MP-PC9999", &acting_for, &why));
  EXPECT_FALSE(MayRequest(officer, "event.submit", "MP-PC1234", &acting_for, &why));
  EXPECT_TRUE(MayRequest(room, "history.person", "MP-PC9999", &acting_for, &why));
  EXPECT_EQ(acting_for, "MP-PC9999");
  EXPECT_TRUE(MayRequest(room, "event.submit", "CR-LW", &acting_for, &why));
}

TEST(AccessPolicy, SubscriptionsAndVisibleAlerts) {
  ClientEntry officer{.identity = "MP-PC1234", .role = ClientRole::kOfficer};
  ClientEntry room{.identity = "CR-LW", .role = ClientRole::kControlRoom, .control_ids = {"E09000023"}};
  ClientEntry admin{.identity = "ADMIN", .role = ClientRole::kAdministrator};
  EXPECT_TRUE(MaySubscribe(officer, "officer/MP-PC1234/"));
  EXPECT_FALSE(MaySubscribe(officer, "officer/MP-PC1234"));  // would match MP-PC12345 too
  EXPECT_FALSE(MaySubscribe(officer, "officer/"));
  EXPECT_FALSE(MaySubscribe(officer, ""));
  EXPECT_FALSE(MaySubscribe(officer, "officer/MP-PC5555/"));
  EXPECT_TRUE(MaySubscribe(room, "control/E09000023/"));
  EXPECT_FALSE(MaySubscribe(room, "control/E09000011/"));
  EXPECT_TRUE(MaySubscribe(admin, ""));
  EXPECT_TRUE(MaySeeAlert(officer, {"control/E09000023/", "officer/MP-PC1234/"}));
  EXPECT_FALSE(MaySeeAlert(officer, {"officer/MP-PC5555/"}));
  EXPECT_TRUE(MaySeeAlert(room, {"control/E09000023/"}));
  EXPECT_TRUE(MaySeeAlert(admin, {}));
}

TEST(AccessPolicy, ActorTopicsForAcknowledgingAlerts) {
  using V = std::vector<std::string>;
  ClientEntry officer{.identity = "MP-PC1234", .role = ClientRole::kOfficer};
  ClientEntry room{.identity = "CR-LW", .role = ClientRole::kControlRoom, .control_ids = {"E09000023"}};
  ClientEntry admin{.identity = "ADMIN", .role = ClientRole::kAdministrator};
  EXPECT_EQ(ActorTopics(&officer, "MP-PC1234", ""), V{"officer/MP-PC1234/"});
  EXPECT_EQ(ActorTopics(&room, "CR-LW", ""), V{"control/E09000023/"});
  EXPECT_EQ(ActorTopics(&room, "MP-PC5555", "MP-PC5555"),
            (V{"control/E09000023/", "officer/MP-PC5555/", "control/MP-PC5555/"}));
  EXPECT_EQ(ActorTopics(&admin, "ADMIN", ""), V{}) << "an administrator is in no alert's chain";
  EXPECT_EQ(ActorTopics(&admin, "CR-LW", "CR-LW"), (V{"officer/CR-LW/", "control/CR-LW/"}));
  // Mode none: the claimed officer_id, as an officer or a control room.
  EXPECT_EQ(ActorTopics(nullptr, "E09000023", ""), (V{"officer/E09000023/", "control/E09000023/"}));
  EXPECT_EQ(ActorTopics(nullptr, "", ""), V{});
}

TEST(AccessPolicy, ProtectedPersonsOwnRecordIsForControlRooms) {
  ClientEntry officer{.identity = "MP-PC1234", .role = ClientRole::kOfficer};
  ClientEntry room{.identity = "CR-LW", .role = ClientRole::kControlRoom, .control_ids = {"E09000023"}};
  ClientEntry console{.identity = "CONSOLE-1", .role = ClientRole::kAdministrator};
  EXPECT_FALSE(MaySeeProtectedPersonRecord(officer));
  EXPECT_TRUE(MaySeeProtectedPersonRecord(room));
  EXPECT_TRUE(MaySeeProtectedPersonRecord(room, "MP-PC1234")) << "an operator acting for an officer";
  EXPECT_TRUE(MaySeeProtectedPersonRecord(console)) << "an administrator for itself";
  EXPECT_FALSE(MaySeeProtectedPersonRecord(console, "MP-PC1234"))
      << "the console acting for an officer user";
  EXPECT_TRUE(MaySeeProtectedPersonRecord(console, "CR-LEWISHAM", "E09000023"))
      << "the console acting for a control-room user";
}

TEST(CurveKeys, PublicKeyIsDerivedFromTheSecret) {
  auto pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(IsZ85Key(pair->public_z85));
  EXPECT_EQ(*CurvePublicFromSecret(pair->secret_z85), pair->public_z85);
  EXPECT_FALSE(IsZ85Key("short"));
}

}  // namespace
}  // namespace bw
