// breachwatch-console's pure parts: the settings table, the users file, passwords, sessions,
// the login limit and who may see which alert.  No sockets; time is passed in.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "console/console_config.h"
#include "console/server.h"
#include "console/sessions.h"
#include "console/users.h"

namespace bw::console {
namespace {

using std::chrono::seconds;

class ConsoleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(InitSodium()); }
};

TEST_F(ConsoleTest, ExampleConfigIsTheRenderedTable) {
  std::ifstream in(std::string(BREACHWATCH_SOURCE_DIR) +
                   "/console/breachwatch-console.example.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), RenderConsoleExampleConfig())
      << "regenerate: breachwatch-console example-config > "
         "console/breachwatch-console.example.toml";
}

TEST_F(ConsoleTest, ExampleConfigParsesToTheDefaults) {
  auto c = ParseConsoleConfig(RenderConsoleExampleConfig(), "", "example");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:7680");
  EXPECT_TRUE(c->ListensOnLoopback());
  EXPECT_FALSE(c->Tls());
  EXPECT_EQ(c->max_failures, 5);
}

TEST_F(ConsoleTest, EffectiveConfigParsesBack) {
  auto c = ParseConsoleConfig(
      "[http]\nlisten = \"[::1]:8443\"\n[map]\ntile_url = "
      "\"https://tiles.example/{z}/{x}/{y}.png\"\n",
      "/etc/breachwatch", "t");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto again = ParseConsoleConfig(RenderConsoleConfig(*c), "/etc/breachwatch", "t2");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->listen, "[::1]:8443");
  EXPECT_EQ(again->tile_url, c->tile_url);
  EXPECT_EQ(again->users_file, c->users_file);
}

TEST_F(ConsoleTest, PlainHttpOnANonLoopbackAddressIsRefusedNamingTheKey) {
  for (const char* listen : {"0.0.0.0:7680", "10.1.2.3:443", "[::]:7680", "console.met:443"}) {
    auto c = ParseConsoleConfig(std::string("[http]\nlisten = \"") + listen + "\"\n", "", "t");
    ASSERT_FALSE(c.ok()) << listen;
    EXPECT_EQ(c.status().field(), "http.tls_certificate_file") << listen;
  }
  for (const char* listen : {"127.0.0.1:7680", "127.1.2.3:1", "[::1]:7680", "localhost:80"}) {
    auto c = ParseConsoleConfig(std::string("[http]\nlisten = \"") + listen + "\"\n", "", "t");
    EXPECT_TRUE(c.ok()) << listen << ": " << c.status().ToString();
  }
  auto tls = ParseConsoleConfig(
      "[http]\nlisten = \"0.0.0.0:443\"\ntls_certificate_file = \"c.pem\"\n"
      "tls_private_key_file = \"k.pem\"\n",
      "/etc/breachwatch", "t");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->tls_certificate_file, "/etc/breachwatch/c.pem");
}

TEST_F(ConsoleTest, BadSettingsNameTheirKey) {
  struct Case {
    const char* toml;
    const char* field;
  } cases[] = {
      {"[http]\nlisen = \"127.0.0.1:1\"\n", "http.lisen"},
      {"[htp]\n", "htp"},
      {"[http]\nlisten = \"127.0.0.1\"\n", "http.listen"},
      {"[http]\nlisten = \"127.0.0.1:70000\"\n", "http.listen"},
      {"[login]\nmax_failures = 0\n", "login.max_failures"},
      {"[login]\nmax_failures = \"5\"\n", "login.max_failures"},
      {"[daemon]\ncontrol_endpoint = \"udp://x:1\"\n", "daemon.control_endpoint"},
      {"[daemon]\nserver_public_key_file = \"s.pub\"\n", "daemon.client_secret_key_file"},
      {"[http]\ntls_certificate_file = \"c.pem\"\n", "http.tls_private_key_file"},
      {"[map]\ntile_url = \"ftp://x\"\n", "map.tile_url"},
      {"[log]\nlevel = \"loud\"\n", "log.level"},
  };
  for (const auto& c : cases) {
    auto r = ParseConsoleConfig(c.toml, "", "t");
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().field(), c.field) << c.toml << " -> " << r.status().ToString();
  }
}

TEST_F(ConsoleTest, CredentialsDirectoryPathsNeedTheVariable) {
  const std::string toml =
      "[daemon]\nserver_public_key_file = \"/etc/breachwatch/server.pub\"\n"
      "client_secret_key_file = \"${CREDENTIALS_DIRECTORY}/console.key\"\n";
  ::unsetenv("CREDENTIALS_DIRECTORY");
  auto without = ParseConsoleConfig(toml, "/etc/breachwatch", "t");
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.status().field(), "daemon.client_secret_key_file");
  ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/breachwatch-console.service", 1);
  auto with = ParseConsoleConfig(toml, "/etc/breachwatch", "t");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->client_secret_key_file,
            "/run/credentials/breachwatch-console.service/console.key");
}

TEST_F(ConsoleTest, PasswordsAreArgon2idAndVerify) {
  auto h = HashPassword("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->starts_with("$argon2id$")) << *h;
  EXPECT_TRUE(VerifyPassword(*h, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horse batterz"));
  EXPECT_FALSE(VerifyPassword(*h, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "x"));
  auto again = HashPassword("correct horse battery");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*h, *again) << "salted";
}

std::string UserEntry(const std::string& extra) {
  static const std::string hash = *HashPassword("password-1");
  return "[[user]]\nusername = \"u\"\npassword_hash = \"" + hash + "\"\nidentity = \"ID-1\"\n" +
         extra;
}

TEST_F(ConsoleTest, UsersFileMapsToIdentityAndRole) {
  auto users = ParseUsers(UserEntry("role = \"control_room\"\ncontrol_ids = [\"E09000023\"]\n"),
                          "users.toml");
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].identity, "ID-1");
  EXPECT_EQ((*users)[0].role, Role::kControlRoom);
  EXPECT_EQ((*users)[0].control_ids, std::vector<std::string>{"E09000023"});
  auto default_ids = ParseUsers(UserEntry("role = \"control_room\"\n"), "users.toml");
  ASSERT_TRUE(default_ids.ok());
  EXPECT_EQ((*default_ids)[0].control_ids, std::vector<std::string>{"ID-1"});
}

TEST_F(ConsoleTest, UsersFileErrorsNameTheEntry) {
  struct Case {
    std::string toml;
    const char* field;
  } cases[] = {
      {UserEntry("role = \"chief\"\n"), "user[1].role"},
      {UserEntry("role = \"officer\"\ncontrol_ids = [\"X\"]\n"), "user[1].control_ids"},
      {UserEntry("role = \"officer\"\nshoe_size = 9\n"), "user[1].shoe_size"},
      {"[[user]]\nusername = \"u\"\npassword_hash = \"plain\"\nidentity = \"I\"\nrole = "
       "\"officer\"\n",
       "user[1].password_hash"},
      {"[[user]]\nusername = \"u\"\n", "user[1].password_hash"},
      {UserEntry("role = \"officer\"\n") + UserEntry("role = \"officer\"\n"), "user[2].username"},
  };
  for (const auto& c : cases) {
    auto r = ParseUsers(c.toml, "users.toml");
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().field(), c.field) << r.status().ToString();
  }
}

User MakeUser(const std::string& identity, Role role, std::vector<std::string> control_ids = {}) {
  User u;
  u.username = identity;
  u.identity = identity;
  u.role = role;
  u.control_ids = std::move(control_ids);
  return u;
}

TEST_F(ConsoleTest, UsersFileIsReReadWhenItChangesAndABadOneIsRefusedWhole) {
  char dir[] = "/tmp/bw-console-users-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/users.toml";
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::trunc) << text; };
  UsersFile file(path);
  EXPECT_FALSE(file.Get().ok()) << "no file, no list";
  write(UserEntry("role = \"officer\"\n"));
  auto first = file.Get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)->at(0).role, Role::kOfficer);
  write(UserEntry("role = \"administrator\"\n# now longer\n"));
  auto second = file.Get();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->at(0).role, Role::kAdministrator);
  EXPECT_FALSE(SameGrant((*first)->at(0), (*second)->at(0))) << "a role change ends sessions";
  write("[[user]]\nusername = \"broken\"\n");
  auto third = file.Get();
  ASSERT_TRUE(third.ok()) << "the last good list is kept";
  EXPECT_EQ((*third)->at(0).role, Role::kAdministrator);
  std::filesystem::remove_all(dir);
}

TEST_F(ConsoleTest, WhoSeesWhichAlertFollowsTheRecipients) {
  boost::json::object alert{
      {"recipients", boost::json::array{"officer/MP-PC1234/", "control/E09000023/"}}};
  User officer = MakeUser("MP-PC1234", Role::kOfficer);
  User other_officer = MakeUser("MP-PC123", Role::kOfficer);
  User lewisham = MakeUser("CR-LW", Role::kControlRoom, {"E09000023"});
  User greenwich = MakeUser("CR-GW", Role::kControlRoom, {"E09000011"});
  User admin = MakeUser("ADMIN", Role::kAdministrator);
  EXPECT_TRUE(MaySeeAlert(officer, alert));
  EXPECT_FALSE(MaySeeAlert(other_officer, alert)) << "a prefix of the identity is not enough";
  EXPECT_TRUE(MaySeeAlert(lewisham, alert));
  EXPECT_FALSE(MaySeeAlert(greenwich, alert));
  EXPECT_TRUE(MaySeeAlert(admin, alert));
  EXPECT_FALSE(MayUse(officer, Area::kReports));
  EXPECT_TRUE(MayUse(officer, Area::kPerson));
  EXPECT_TRUE(MayUse(lewisham, Area::kHealth));
  // The control room a control-room user acknowledges for: the one of theirs it was sent to.
  User both = MakeUser("CR-SE", Role::kControlRoom, {"E09000011", "E09000023"});
  EXPECT_EQ(ControlIdReceiving(both, alert), "E09000023");
  EXPECT_EQ(ControlIdReceiving(greenwich, alert), "");
  EXPECT_EQ(ControlIdReceiving(officer, alert), "") << "officers act for themselves";
}

TEST_F(ConsoleTest, SessionsExpireWhenIdleAndAtTheirMaximumAge) {
  SessionStore store(seconds(60), seconds(300));
  const auto t0 = Clock::time_point{} + seconds(1000);
  User u = MakeUser("I", Role::kOfficer);
  Session s = store.Create(u, t0);
  EXPECT_EQ(s.token.size(), 64u);
  EXPECT_NE(s.token, s.csrf);
  EXPECT_TRUE(store.Find(s.token, t0 + seconds(59)).has_value());
  EXPECT_TRUE(store.Find(s.token, t0 + seconds(118)).has_value()) << "use extends it";
  EXPECT_FALSE(store.Find(s.token, t0 + seconds(179)).has_value()) << "idle 61 s";
  Session busy = store.Create(u, t0);
  for (int t = 50; t < 300; t += 50) ASSERT_TRUE(store.Find(busy.token, t0 + seconds(t)));
  EXPECT_FALSE(store.Find(busy.token, t0 + seconds(301)).has_value()) << "maximum age";
  Session gone = store.Create(u, t0);
  store.Remove(gone.token);
  EXPECT_FALSE(store.Find(gone.token, t0).has_value());
  EXPECT_FALSE(store.Find("", t0).has_value());
}

TEST_F(ConsoleTest, LoginLimiterBlocksAtTheLimitUntilTheWindowPasses) {
  LoginLimiter limiter(3, seconds(600));
  const auto t0 = Clock::time_point{} + seconds(10000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.Blocked("pc1234", t0 + seconds(i)));
    limiter.RecordFailure("pc1234", t0 + seconds(i));
  }
  EXPECT_TRUE(limiter.Blocked("pc1234", t0 + seconds(10)));
  EXPECT_FALSE(limiter.Blocked("other", t0 + seconds(10)));
  EXPECT_TRUE(limiter.Blocked("pc1234", t0 + seconds(599)));
  EXPECT_FALSE(limiter.Blocked("pc1234", t0 + seconds(601))) << "the first failure left the window";
  limiter.RecordFailure("x", t0);
  limiter.RecordFailure("x", t0);
  limiter.Reset("x");
  limiter.RecordFailure("x", t0);
  EXPECT_FALSE(limiter.Blocked("x", t0));
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(ConsoleTest, RepeatedRefusalsFromOneClientAreCountedNotWrittenOneByOne) {
  char dir[] = "/tmp/bw-console-audit-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/events.jsonl";
  ConsoleAudit audit;
  ASSERT_TRUE(audit.Open(path).ok());
  const auto t0 = Clock::time_point{} + seconds(100000);
  for (int i = 0; i < 25; ++i) {
    audit.Write("unauthenticated", "", "", "10.0.0.9", "GET /api/queue", t0 + seconds(i));
  }
  audit.Write("unauthenticated", "", "", "10.0.0.8", "GET /api/queue", t0 + seconds(30));
  for (int i = 0; i < 12; ++i) audit.Write("login", "u", "I", "10.0.0.9", "", t0 + seconds(31));
  auto lines = Lines(path);
  EXPECT_EQ(lines.size(), 10u + 1u + 12u) << "10 from .9, 1 from .8, every login";
  // The window of .9 passes: the next event of anyone writes the summary of what was held back.
  audit.Write("csrf_refused", "u", "I", "10.0.0.7", "POST /api/ack", t0 + seconds(61));
  lines = Lines(path);
  ASSERT_EQ(lines.size(), 10u + 1u + 12u + 2u);
  EXPECT_NE(lines[lines.size() - 2].find("15 more unauthenticated event(s)"), std::string::npos)
      << lines[lines.size() - 2];
  EXPECT_NE(lines.back().find("csrf_refused"), std::string::npos);
  // A new window writes again.
  audit.Write("unauthenticated", "", "", "10.0.0.9", "GET /", t0 + seconds(70));
  EXPECT_EQ(Lines(path).size(), 10u + 1u + 12u + 3u);
  std::filesystem::remove_all(dir);
}

TEST_F(ConsoleTest, TokensCompareExactly) {
  std::string a = RandomToken();
  EXPECT_TRUE(TokensEqual(a, a));
  EXPECT_FALSE(TokensEqual(a, RandomToken()));
  EXPECT_FALSE(TokensEqual(a, a.substr(1)));
  EXPECT_FALSE(TokensEqual("", ""));
}

}  // namespace
}  // namespace bw::console
