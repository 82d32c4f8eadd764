// breachwatchd refuses a bad configuration with exit status 78 (EX_CONFIG) and a
// message naming the key or file, both with --check and on a real start.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct RunResult {
  int exit_code;
  std::string output;
};

RunResult RunDaemon(const std::string& args) {
  std::string cmd = std::string(BREACHWATCHD_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 512> buf;
  while (p != nullptr && fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  int status = p != nullptr ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct BadConfig {
  const char* name;
  std::string toml;
  const char* must_mention;
};
// gtest prints a case by its name, not as bytes.
void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, ExitSeventyEightNamingTheKey) {
  const BadConfig& c = GetParam();
  const std::string dir = ::testing::TempDir() + "bw-config-" + c.name;
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/breachwatch.toml";
  std::ofstream(path) << "[store]\npath = \"" << dir << "/bw.db\"\n"
                      << "[control]\nendpoint = \"ipc://" << dir << "/control.sock\"\n"
                      << "[alerts]\nendpoint = \"ipc://" << dir << "/alerts.sock\"\n"
                      << "[[zones]]\nfile = \"" << BREACHWATCH_SOURCE_DIR
                      << "/config/zones/london_lad22_bgc_wgs84.geojson\"\n"
                      << "code_property = \"LAD22CD\"\nname_property = \"LAD22NM\"\n"
                      << c.toml;
  for (const std::string mode : {" --check", ""}) {
    RunResult r = RunDaemon("--config " + path + mode);
    EXPECT_EQ(r.exit_code, 78) << c.name << mode << "\n" << r.output;
    EXPECT_NE(r.output.find(c.must_mention), std::string::npos)
        << c.name << mode << ": expected the message to name " << c.must_mention << "\n"
        << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ConfigErrors,
    ::testing::Values(
        BadConfig{"unknown_key", "[policy]\nexit_debounce = 5\n", "policy.exit_debounce"},
        BadConfig{"unknown_section", "[polcy]\nexit_debounce_s = 5\n", "polcy"},
        BadConfig{"wrong_type", "[policy]\nexit_debounce_s = \"five\"\n", "policy.exit_debounce_s"},
        BadConfig{"out_of_range", "[policy]\nrepeat_breach_threshold = 0\n",
                  "policy.repeat_breach_threshold"},
        BadConfig{"bad_feed_name", "[[feeds]]\nname = \"gps\"\nendpoint = \"tcp://127.0.0.1:9\"\n",
                  "feeds[0].name"},
        BadConfig{"non_loopback_without_security",
                  "[[feeds]]\nname = \"tag\"\nendpoint = \"tcp://10.1.2.3:7610\"\n",
                  "feeds[0].endpoint"},
        BadConfig{"missing_zone_file", "[[zones]]\nfile = \"/nonexistent/zones.geojson\"\n",
                  "zones[1].file"},
        BadConfig{"toml_syntax", "[policy\n", "TOML syntax error"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigErrors, MissingConfigFileIsNamed) {
  RunResult r = RunDaemon("--config /nonexistent/breachwatch.toml --check");
  EXPECT_EQ(r.exit_code, 78) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/breachwatch.toml"), std::string::npos) << r.output;
}

TEST(ConfigErrors, InvalidZoneGeometryIsNamedByFeature) {
  const std::string dir = ::testing::TempDir() + "bw-config-invalid-geometry";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/breachwatch.toml";
  std::ofstream(path) << "[[zones]]\nfile = \"" << BREACHWATCH_SHARED_DATA_DIR
                      << "/police_force_areas_dec2020_ew.geojson\"\n"
                      << "code_property = \"PFA20CD\"\nname_property = \"PFA20NM\"\n";
  RunResult r = RunDaemon("--config " + path + " --check");
  EXPECT_EQ(r.exit_code, 78) << r.output;
  EXPECT_NE(r.output.find("Hampshire"), std::string::npos) << r.output;
}

}  // namespace
