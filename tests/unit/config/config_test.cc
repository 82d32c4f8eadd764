// Tests for config/settings: the example config, defaults, and every kind of configuration error.
//
// The committed config/breachwatch.example.toml must equal RenderExampleConfig().  After changing
// the settings table, regenerate it by running this test binary with
// BREACHWATCH_REGENERATE_EXAMPLE=1 in the environment (it rewrites the file, then checks it).
#include "config/settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef BREACHWATCH_SOURCE_DIR
#define BREACHWATCH_SOURCE_DIR "."
#endif

namespace bw {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  std::error_code ec;
  if (fs::is_directory(fs::path(BREACHWATCH_SOURCE_DIR) / "config", ec)) {
    return BREACHWATCH_SOURCE_DIR;
  }
  return ".";  // fallback: run from the source root
}

std::string ConfigDir() { return (fs::absolute(SourceDir()) / "config").lexically_normal(); }
std::string ExamplePath() { return ConfigDir() + "/breachwatch.example.toml"; }
std::string LondonZones() { return ConfigDir() + "/zones/london_lad22_bgc_wgs84.geojson"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

Result<Config> Parse(std::string_view text) { return ParseConfig(text, ConfigDir(), "test.toml"); }

// A fresh directory under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::path(::testing::TempDir()) /
            ("config_test." + std::to_string(::getpid()) + "." + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  std::string dir() const { return path_.string(); }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------------
// The example config.

TEST(ExampleConfig, CommittedFileEqualsRenderedTable) {
  const std::string rendered = RenderExampleConfig();
  if (std::getenv("BREACHWATCH_REGENERATE_EXAMPLE") != nullptr) {
    WriteFile(ExamplePath(), rendered);
  }
  EXPECT_EQ(ReadFile(ExamplePath()), rendered)
      << ExamplePath() << " is stale: rerun this test with BREACHWATCH_REGENERATE_EXAMPLE=1";
}

TEST(ExampleConfig, LoadsWithTheDemoSetup) {
  Result<Config> config = LoadConfigFile(ExamplePath());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->config_path, ExamplePath());
  EXPECT_EQ(config->store_path, "breachwatch.db");
  ASSERT_EQ(config->zones.size(), 1u);
  EXPECT_EQ(config->zones[0].file, LondonZones());
  EXPECT_EQ(config->zones[0].code_property, "LAD22CD");
  EXPECT_EQ(config->zones[0].name_property, "LAD22NM");
  EXPECT_FALSE(config->zones[0].skip_invalid);
  EXPECT_EQ(config->alerts_endpoint, "tcp://127.0.0.1:7601");
  EXPECT_EQ(config->control_endpoint, "tcp://127.0.0.1:7602");
  ASSERT_EQ(config->feeds.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> feeds = {
      {"orders", "tcp://127.0.0.1:7610"},
      {"tag", "tcp://127.0.0.1:7612"},
      {"custody", "tcp://127.0.0.1:7614"},
      {"check", "tcp://127.0.0.1:7616"}};
  for (size_t i = 0; i < feeds.size(); ++i) {
    EXPECT_EQ(config->feeds[i].name, feeds[i].first);
    EXPECT_EQ(config->feeds[i].endpoint, feeds[i].second);
    EXPECT_EQ(config->feeds[i].replay, "") << "replay is shown commented out";
    EXPECT_EQ(config->feeds[i].silent_after_s, 60);
  }
  EXPECT_EQ(config->security.mode, "none");
  EXPECT_EQ(config->security.server_secret_key_file, "");
  EXPECT_EQ(config->security.clients_file, "");
  EXPECT_EQ(config->policy.ack_sla_s.critical_s, 300);
  EXPECT_EQ(config->policy.ack_sla_s.high_s, 900);
  EXPECT_EQ(config->policy.ack_sla_s.medium_s, 3600);
  EXPECT_EQ(config->policy.gap_fill_s, 10);
  EXPECT_EQ(config->intake_max_message_bytes, 65536);
  EXPECT_EQ(config->log_level, "info");
}

TEST(ExampleConfig, DocumentsEveryKeyWithItsDefault) {
  // Each key (in the first table of an array of tables) follows "# <doc>" and "# default: X"
  // (or "# required") lines; keys shown commented out count too.
  std::istringstream lines(RenderExampleConfig());
  std::string line;
  std::vector<std::string> seen;
  int documented = 0;
  while (std::getline(lines, line)) {
    const size_t n = seen.size();
    const bool after_default =
        n >= 2 && (seen[n - 1].starts_with("# default: ") || seen[n - 1] == "# required");
    if (after_default) {
      EXPECT_NE(line.find(" = "), std::string::npos) << "no key after " << seen[n - 1];
      EXPECT_TRUE(seen[n - 2].starts_with("# ") && !seen[n - 2].starts_with("# default"))
          << "no doc before " << line;
      ++documented;
    }
    seen.push_back(line);
  }
  EXPECT_EQ(documented, 49);  // store 8, zones 4, alerts 4, control 3, feeds 5, security 3,
                              // policy 15, intake 4, limits 1, metrics 1, log 1
}

// ---------------------------------------------------------------------------------------------
// Defaults and accepted values.

TEST(ConfigDefaults, EmptyFileGivesAllDefaults) {
  Result<Config> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const Config defaults;
  EXPECT_EQ(config->config_path, "");
  EXPECT_EQ(config->store_path, "breachwatch.db");
  ASSERT_EQ(config->zones.size(), 1u) << "the shipped London boroughs by default";
  EXPECT_EQ(config->zones[0].file, LondonZones());
  EXPECT_EQ(config->zones[0].code_property, "LAD22CD");
  EXPECT_EQ(config->zones[0].name_property, "LAD22NM");
  EXPECT_EQ(config->alerts_endpoint, defaults.alerts_endpoint);
  EXPECT_EQ(config->alerts_send_hwm, 100000);
  EXPECT_EQ(config->control_endpoint, defaults.control_endpoint);
  EXPECT_TRUE(config->feeds.empty());
  EXPECT_EQ(config->security.mode, "none");
  EXPECT_EQ(config->policy.exit_debounce_s, 300);
  EXPECT_EQ(config->policy.crossing_max_gap_s, 600);
  EXPECT_EQ(config->policy.late_after_s, 120);
  EXPECT_EQ(config->policy.future_skew_s, 300);
  EXPECT_EQ(config->policy.repeat_breach_threshold, 3);
  EXPECT_EQ(config->policy.repeat_breach_window_days, 90);
  EXPECT_EQ(config->policy.expiry_warning_h, 24);
  EXPECT_EQ(config->intake_max_message_bytes, 65536);
  EXPECT_EQ(config->intake_drain_budget, 256);
  EXPECT_EQ(config->log_level, "info");
}

TEST(ConfigDefaults, AbsentSectionsAndKeysKeepDefaults) {
  Result<Config> config = Parse(
      "[policy]\n"
      "exit_debounce_s = 30\n"
      "ack_sla_s = { high = 60 }\n"
      "[[feeds]]\n"
      "name = \"tag\"\n"
      "endpoint = \"ipc:///run/breachwatch/tag.sock\"\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->policy.exit_debounce_s, 30);
  EXPECT_EQ(config->policy.crossing_max_gap_s, 600);
  EXPECT_EQ(config->policy.ack_sla_s.critical_s, 300);
  EXPECT_EQ(config->policy.ack_sla_s.high_s, 60);
  EXPECT_EQ(config->policy.ack_sla_s.medium_s, 3600);
  ASSERT_EQ(config->feeds.size(), 1u);
  EXPECT_EQ(config->feeds[0].replay, "");
  EXPECT_EQ(config->feeds[0].silent_after_s, 60);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->zones.size(), 1u);
}

TEST(ConfigDefaults, ExplicitEmptyZonesLoadsNone) {
  Result<Config> config = Parse("zones = []\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->zones.empty());
}

TEST(ConfigValues, AckSlaAsStandardSubTable) {
  Result<Config> config = Parse("[policy.ack_sla_s]\ncritical = 120\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->policy.ack_sla_s.critical_s, 120);
}

TEST(ConfigValues, LocalEndpointsAcceptedWithModeNone) {
  for (const char* endpoint :
       {"ipc:///run/breachwatch/alerts.sock", "ipc://@abstract", "tcp://localhost:7601",
        "tcp://[::1]:7601", "tcp://127.0.0.1:1", "tcp://127.255.0.9:65535"}) {
    Result<Config> config = Parse(std::string("[alerts]\nendpoint = \"") + endpoint + "\"\n");
    ASSERT_TRUE(config.ok()) << endpoint << ": " << config.status().ToString();
    EXPECT_EQ(config->alerts_endpoint, endpoint);
  }
}

TEST(ConfigValues, ZoneFileRelativeToConfigFileDirectory) {
  TempDir dir;
  WriteFile(dir.Path("boroughs.geojson"), "{}");
  WriteFile(dir.Path("bw.toml"),
            "[[zones]]\nfile = \"boroughs.geojson\"\ncode_property = \"CODE\"\n"
            "skip_invalid = true\n");
  Result<Config> config = LoadConfigFile(dir.Path("bw.toml"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->zones.size(), 1u);
  EXPECT_EQ(config->zones[0].file, dir.Path("boroughs.geojson"));
  EXPECT_EQ(config->zones[0].code_property, "CODE");
  EXPECT_EQ(config->zones[0].name_property, "NAME");
  EXPECT_TRUE(config->zones[0].skip_invalid);
}

TEST(ConfigValues, AbsoluteZoneFileAndRelativeSecurityPaths) {
  Result<Config> config = Parse("[[zones]]\nfile = \"" + LondonZones() +
                                "\"\n[security]\nserver_secret_key_file = \"keys/server.key\"\n"
                                "clients_file = \"/etc/breachwatch/clients.toml\"\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->zones[0].file, LondonZones());
  EXPECT_EQ(config->security.server_secret_key_file, ConfigDir() + "/keys/server.key");
  EXPECT_EQ(config->security.clients_file, "/etc/breachwatch/clients.toml");
}

TEST(ConfigValues, ServerKeyUnderTheCredentialsDirectory) {
  ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/breachwatchd.service", 1);
  Result<Config> config =
      Parse("[security]\nserver_secret_key_file = \"${CREDENTIALS_DIRECTORY}/server.key\"\n");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->security.server_secret_key_file,
            "/run/credentials/breachwatchd.service/server.key");
  Result<Config> unset =
      Parse("[security]\nserver_secret_key_file = \"${CREDENTIALS_DIRECTORY}/server.key\"\n");
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().field(), "security.server_secret_key_file");
  EXPECT_NE(unset.status().message().find("CREDENTIALS_DIRECTORY is not set"), std::string::npos);
}

TEST(ConfigRender, EffectiveConfigRoundTrips) {
  Result<Config> example = LoadConfigFile(ExamplePath());
  ASSERT_TRUE(example.ok()) << example.status().ToString();
  example->feeds[1].replay = "tcp://127.0.0.1:7613";
  example->policy.ack_sla_s.high_s = 61;
  const std::string rendered = RenderConfig(*example);
  Result<Config> again = ParseConfig(rendered, "/nonexistent", "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << rendered;
  EXPECT_EQ(RenderConfig(*again), rendered);
  EXPECT_EQ(again->feeds[1].replay, "tcp://127.0.0.1:7613");
  EXPECT_EQ(again->policy.ack_sla_s.high_s, 61);

  Result<Config> no_zones = Parse("zones = []\n");
  ASSERT_TRUE(no_zones.ok());
  Result<Config> no_zones_again = Parse(RenderConfig(*no_zones));
  ASSERT_TRUE(no_zones_again.ok()) << no_zones_again.status().ToString();
  EXPECT_TRUE(no_zones_again->zones.empty());
}

// ---------------------------------------------------------------------------------------------
// Errors: each names the key (Status::field) and says what is wrong (Status::message).

struct ErrorCase {
  const char* name;
  std::string toml;
  std::string field;                  // expected Status::field()
  std::vector<std::string> contains;  // substrings of Status::message()
};

const char kFeeds[] =
    "[[feeds]]\nname = \"orders\"\nendpoint = \"tcp://127.0.0.1:7610\"\n"
    "[[feeds]]\nname = \"tag\"\nendpoint = ";

std::vector<ErrorCase> ErrorCases() {
  return {
      // Unknown names.
      {"UnknownKey",
       "[policy]\nexit_debounce = 5\n",
       "policy.exit_debounce",
       {"unknown key, did you mean \"exit_debounce_s\"?", "(test.toml:2:1)"}},
      {"UnknownKeyNoSuggestion", "[log]\nfile = \"/var/log/bw\"\n", "log.file", {"unknown key ("}},
      {"UnknownSection", "[polcy]\nx = 1\n", "polcy", {"unknown section [polcy]", "\"policy\""}},
      {"UnknownArraySection", "[[zone]]\nfile = \"x\"\n", "zone", {"unknown section [[zone]]"}},
      {"UnknownTopLevelKey", "verbose = true\n", "verbose", {"unknown key"}},
      {"UnknownKeyInFeed",
       "[[feeds]]\nname = \"tag\"\nendpoint = \"tcp://127.0.0.1:1\"\nsilent_s = 5\n",
       "feeds[0].silent_s",
       {"unknown key"}},
      {"UnknownAckSlaKey",
       "[policy]\nack_sla_s = { critical = 300, low = 10 }\n",
       "policy.ack_sla_s.low",
       {"unknown key"}},
      // Wrong types.
      {"StringForInt",
       "[policy]\nexit_debounce_s = \"300\"\n",
       "policy.exit_debounce_s",
       {"expected an integer, got a string", "test.toml:2:"}},
      {"FloatForInt",
       "[intake]\ndrain_budget = 2.5\n",
       "intake.drain_budget",
       {"expected an integer, got a floating-point number"}},
      {"IntForString", "[log]\nlevel = 3\n", "log.level", {"expected a string, got an integer"}},
      {"StringForBool",
       "[[zones]]\nfile = \"zones/london_lad22_bgc_wgs84.geojson\"\nskip_invalid = \"yes\"\n",
       "zones[0].skip_invalid",
       {"expected a boolean (true or false), got a string"}},
      {"ArrayForTable",
       "[policy]\nack_sla_s = [300, 900]\n",
       "policy.ack_sla_s",
       {"expected a table like { critical = 300, high = 900, medium = 3600 }, got an array"}},
      {"StringInAckSla",
       "[policy]\nack_sla_s = { high = \"15m\" }\n",
       "policy.ack_sla_s.high",
       {"expected an integer, got a string"}},
      {"ValueForSection",
       "store = \"x.db\"\n",
       "store",
       {"expected a table ([store]), got a string"}},
      {"TableForArrayOfTables",
       "[feeds]\nname = \"tag\"\n",
       "feeds",
       {"expected an array of tables ([[feeds]]), got a table"}},
      {"ScalarInArrayOfTables", "zones = [\"a.geojson\"]\n", "zones[0]", {"expected a table"}},
      // Enumerations.
      {"BadLogLevel",
       "[log]\nlevel = \"verbose\"\n",
       "log.level",
       {"must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\" (got \"verbose\")"}},
      {"BadFeedName",
       "[[feeds]]\nname = \"tags\"\nendpoint = \"tcp://127.0.0.1:1\"\n",
       "feeds[0].name",
       {"must be one of \"orders\", \"tag\", \"custody\", \"check\""}},
      {"BadSecurityMode", "[security]\nmode = \"tls\"\n", "security.mode", {"must be one of"}},
      // Ranges.
      {"NegativeDuration",
       "[policy]\nexit_debounce_s = -1\n",
       "policy.exit_debounce_s",
       {"must be at least 0 (got -1)"}},
      {"NegativeAckSla",
       "[policy]\nack_sla_s = { high = -5 }\n",
       "policy.ack_sla_s.high",
       {"must be at least 1 (got -5)"}},
      {"ZeroThreshold",
       "[policy]\nrepeat_breach_threshold = 0\n",
       "policy.repeat_breach_threshold",
       {"must be at least 1 (got 0)"}},
      {"ZeroSilentAfter",
       "[[feeds]]\nname = \"tag\"\nendpoint = \"tcp://127.0.0.1:1\"\nsilent_after_s = 0\n",
       "feeds[0].silent_after_s",
       {"must be at least 1"}},
      {"HugeWindow",
       "[policy]\nrepeat_breach_window_days = 100000\n",
       "policy.repeat_breach_window_days",
       {"must be at most 3650"}},
      {"EmptyString", "[store]\npath = \"\"\n", "store.path", {"must not be empty"}},
      // Feeds.
      {"DuplicateFeed",
       std::string(kFeeds) + "\"tcp://127.0.0.1:7612\"\n[[feeds]]\nname = \"orders\"\n"
                             "endpoint = \"tcp://127.0.0.1:7614\"\n",
       "feeds[2].name",
       {"duplicate value \"orders\", already used by feeds[0].name", "test.toml:8:"}},
      {"MissingFeedName",
       "[[feeds]]\nendpoint = \"tcp://127.0.0.1:1\"\n",
       "feeds[0].name",
       {"missing required key", "test.toml:1:"}},
      {"MissingFeedEndpoint", "[[feeds]]\nname = \"tag\"\n", "feeds[0].endpoint", {"missing"}},
      // Endpoints.
      {"PortlessEndpoint",
       "[alerts]\nendpoint = \"tcp://127.0.0.1\"\n",
       "alerts.endpoint",
       {"needs a port: tcp://host:port (got \"tcp://127.0.0.1\")"}},
      {"BadScheme",
       "[control]\nendpoint = \"inproc://control\"\n",
       "control.endpoint",
       {"must be tcp://host:port or ipc://path"}},
      {"PortOutOfRange",
       "[control]\nendpoint = \"tcp://127.0.0.1:70000\"\n",
       "control.endpoint",
       {"port must be 1 to 65535"}},
      {"WildcardPort",
       "[control]\nendpoint = \"tcp://127.0.0.1:*\"\n",
       "control.endpoint",
       {"needs a numeric port"}},
      {"UnbracketedIpv6",
       "[control]\nendpoint = \"tcp://::1:7602\"\n",
       "control.endpoint",
       {"brackets"}},
      {"ConnectToWildcard",
       std::string(kFeeds) + "\"tcp://*:7612\"\n",
       "feeds[1].endpoint",
       {"needs a host"}},
      {"EmptyIpcPath", "[alerts]\nendpoint = \"ipc://\"\n", "alerts.endpoint", {"needs a path"}},
      {"NonLoopbackFeedWithModeNone",
       std::string(kFeeds) + "\"tcp://10.1.2.3:7612\"\n",
       "feeds[1].endpoint",
       {"security.mode \"none\" is only allowed on ipc:// or loopback endpoints "
        "(got \"tcp://10.1.2.3:7612\")"}},
      {"LookalikeLoopbackHost",
       std::string(kFeeds) + "\"tcp://127.0.0.1.example.net:7612\"\n",
       "feeds[1].endpoint",
       {"only allowed on ipc:// or loopback"}},
      {"NonLoopbackReplayWithModeNone",
       std::string(kFeeds) + "\"tcp://127.0.0.1:7612\"\nreplay = \"tcp://feeds.example:7613\"\n",
       "feeds[1].replay",
       {"only allowed on ipc:// or loopback"}},
      {"AllInterfacesBindWithModeNone",
       "[alerts]\nendpoint = \"tcp://*:7601\"\n",
       "alerts.endpoint",
       {"only allowed on ipc:// or loopback"}},
      {"SameBoundEndpointTwice",
       "[alerts]\nendpoint = \"ipc:///run/bw.sock\"\n[control]\nendpoint = "
       "\"ipc:///run/bw.sock\"\n",
       "control.endpoint",
       {"same endpoint as alerts.endpoint"}},
      {"CurveNeedsTheServerKey",
       "[security]\nmode = \"curve\"\n",
       "security.server_secret_key_file",
       {"required when security.mode is \"curve\""}},
      {"CurveKeyFileMissing",
       "[security]\nmode = \"curve\"\nserver_secret_key_file = \"/nonexistent/server.key\"\n"
       "clients_file = \"/nonexistent/clients.toml\"\n",
       "security.server_secret_key_file",
       {"no such file: \"/nonexistent/server.key\""}},
      // Zone files.
      {"MissingZoneFile",
       "[[zones]]\nfile = \"zones/atlantis.geojson\"\n",
       "zones[0].file",
       {"no such file: \"zones/atlantis.geojson\" (tried \"" + ConfigDir() +
            "/zones/atlantis.geojson\" and \"",
        "/breachwatch/zones/atlantis.geojson\")"}},
      {"MissingAbsoluteZoneFile",
       "[[zones]]\nfile = \"/nonexistent/zones.geojson\"\n",
       "zones[0].file",
       {"no such file: \"/nonexistent/zones.geojson\""}},
      {"DuplicateZoneFile",
       "[[zones]]\nfile = \"zones/london_lad22_bgc_wgs84.geojson\"\n"
       "[[zones]]\nfile = \"" +
           LondonZones() + "\"\n",
       "zones[1].file",
       {"duplicate value", "already used by zones[0].file"}},
      // Syntax.
      {"SyntaxError",
       "[policy]\nexit_debounce_s = = 3\n",
       "",
       {"TOML syntax error: ", "(test.toml:2:"}},
      {"DuplicateKeyIsSyntaxError",
       "[log]\nlevel = \"info\"\nlevel = \"warn\"\n",
       "",
       {"TOML syntax error: ", "(test.toml:3:"}},
  };
}

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, NamesTheKey) {
  const ErrorCase& c = GetParam();
  Result<Config> config = Parse(c.toml);
  ASSERT_FALSE(config.ok()) << "accepted:\n" << c.toml;
  EXPECT_EQ(config.status().code(), ErrorCode::kBadInput);
  EXPECT_EQ(config.status().field(), c.field) << config.status().ToString();
  for (const std::string& part : c.contains) {
    EXPECT_NE(config.status().message().find(part), std::string::npos)
        << "message: " << config.status().message() << "\nexpected to contain: " << part;
  }
}

INSTANTIATE_TEST_SUITE_P(All, ConfigErrorTest, ::testing::ValuesIn(ErrorCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigErrors, ExactFormat) {
  Result<Config> config = Parse(std::string(kFeeds) + "\"tcp://10.1.2.3:7612\"\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().ToString(),
            "feeds[1].endpoint: security.mode \"none\" is only allowed on ipc:// or loopback "
            "endpoints (got \"tcp://10.1.2.3:7612\") (test.toml:6:12)");

  config = Parse("\n[policy]\nexit_debounce = 5\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().ToString(),
            "policy.exit_debounce: unknown key, did you mean \"exit_debounce_s\"? (test.toml:3:1)");
}

TEST(ConfigErrors, MissingConfigFileNamesTheFile) {
  Result<Config> config = LoadConfigFile("/nonexistent/breachwatch.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(config.status().ToString(),
            "cannot read config file \"/nonexistent/breachwatch.toml\": no such file");
}

TEST(ConfigErrors, DirectoryAsConfigFileNamesIt) {
  TempDir dir;
  Result<Config> config = LoadConfigFile(dir.dir());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kIoError);
  EXPECT_NE(config.status().message().find(dir.dir()), std::string::npos);
}

TEST(ConfigErrors, ErrorsInAFileNameTheFileAndLine) {
  TempDir dir;
  const std::string path = dir.Path("bw.toml");
  WriteFile(path, "zones = []\n[log]\nlevel = \"loud\"\n");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().field(), "log.level");
  EXPECT_NE(config.status().message().find("(" + path + ":3:9)"), std::string::npos)
      << config.status().message();

  WriteFile(path, "[log\n");
  config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("(" + path + ":1:"), std::string::npos)
      << config.status().message();
}

TEST(ConfigErrors, MissingDefaultZoneFileIsNamed) {
  // The default zone set is resolved like a written one: from an empty directory it is missing
  // unless installed in the data directory.
  TempDir dir;
  Result<Config> config = ParseConfig("", dir.dir(), "empty.toml");
  if (config.ok()) {
    EXPECT_TRUE(
        config->zones[0].file.ends_with("/breachwatch/zones/london_lad22_bgc_wgs84.geojson"))
        << config->zones[0].file;
    GTEST_SKIP() << "zones installed in the data directory: " << config->zones[0].file;
  }
  EXPECT_EQ(config.status().field(), "zones[0].file");
  EXPECT_NE(config.status().message().find("the default when there is no [[zones]]"),
            std::string::npos)
      << config.status().message();
}

}  // namespace
}  // namespace bw
