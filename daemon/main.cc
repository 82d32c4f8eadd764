// breachwatchd: the breach-monitoring daemon.  Start-up is the only place that
// may exit on an exception; everything after returns errors as values.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "config/settings.h"
#include "daemon/client_allowlist.h"
#include "daemon/curve_keys.h"
#include "daemon/daemon.h"

namespace {
constexpr int kExitConfig = 78;       // EX_CONFIG
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "breachwatchd - watches people on bail or under protective and community orders and\n"
      "alerts the officer in the case when a condition is broken.\n"
      "Without --config it runs on the embedded defaults (see --print-example-config)."};
  std::string config_path;
  bool check = false;
  bool print_example = false;
  bool print_effective = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "TOML config file (spec section 8)");
  app.add_flag("--check", check, "validate the configuration and zone files, then exit");
  app.add_flag("--print-example-config", print_example,
               "print the fully commented example configuration and exit");
  app.add_flag("--print-config", print_effective, "print the effective configuration and exit");
  app.add_option("--log-level", log_level, "override [log] level: trace|debug|info|warn|error");
  app.set_version_flag("--version", std::string("breachwatchd ") + BREACHWATCH_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (print_example) {
    std::cout << bw::RenderExampleConfig();
    return 0;
  }
  bw::Result<bw::Config> config =
      config_path.empty() ? bw::ParseConfig("", "", "<defaults>") : bw::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "breachwatchd: configuration error: %s\n",
                 config.status().ToString().c_str());
    return kExitConfig;
  }
  if (!log_level.empty()) config->log_level = log_level;
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  if (print_effective) {
    std::cout << bw::RenderConfig(*config);
    return 0;
  }
  if (check) {
    auto zones = bw::LoadZones(*config);
    if (!zones.ok()) {
      std::fprintf(stderr, "breachwatchd: configuration error: %s\n",
                   zones.status().ToString().c_str());
      return kExitConfig;
    }
    std::string security = "security none";
    if (config->security.curve()) {
      auto keys = bw::ReadSecretKeyFile(config->security.server_secret_key_file, true);
      if (!keys.ok()) {
        std::fprintf(stderr, "breachwatchd: configuration error: security.server_secret_key_file: %s\n",
                     keys.status().ToString().c_str());
        return kExitConfig;
      }
      auto clients = bw::ClientAllowList::Load(config->security.clients_file);
      if (!clients.ok()) {
        std::fprintf(stderr, "breachwatchd: configuration error: %s\n",
                     clients.status().ToString().c_str());
        return kExitConfig;
      }
      security = "security curve, server public key " + keys->public_z85 + ", " +
                 std::to_string((*clients)->size()) + " allow-listed client key(s)";
    }
    std::printf("configuration OK: %zu zone(s) in %zu set(s), %zu feed(s), store %s, %s\n",
                (*zones)->size(), config->zones.size(), config->feeds.size(),
                config->store_backend == "postgresql"
                    ? "postgresql"
                    : bw::ResolveStorePath(config->store_path).c_str(),
                security.c_str());
    return 0;
  }

  bw::SystemClock clock;
  bw::Daemon daemon(std::move(*config), clock);
  bw::Status s = daemon.Start();
  if (!s.ok()) {
    spdlog::critical("cannot start: {}", s.ToString());
    return s.code() == bw::ErrorCode::kBadInput ? kExitConfig : kExitUnavailable;
  }
  daemon.Run();
  return daemon.exit_code();
}
