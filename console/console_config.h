// ConsoleConfig: breachwatch-console's own configuration, one TOML file.
//
// Every setting is declared once, in the settings table in console_config.cc (section, key, type,
// default, documentation, check), in the style of config/settings.cc: the table drives parsing,
// validation (`--check`) and the commented example config
// (console/breachwatch-console.example.toml is exactly RenderConsoleExampleConfig()).
//
// Errors are values: a bad setting names its dotted key ("http.listen") in Status::field().
// Threading: pure functions apart from reading files; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/base/status.h"

namespace bw::console {

struct ConsoleConfig {
  std::string config_path;  // the file as given to LoadConsoleConfigFile; empty from Parse
  // [http]
  std::string listen = "127.0.0.1:7680";  // host:port; IPv6 in brackets
  std::string tls_certificate_file;       // PEM chain; required on a non-loopback address
  std::string tls_private_key_file;       // PEM key
  std::string static_dir = "static";      // resolved: config dir, then data dir/console
  std::string leaflet_dir = "/usr/share/javascript/leaflet";  // Debian libjs-leaflet
  // [daemon]
  std::string control_endpoint = "tcp://127.0.0.1:7602";
  std::string alerts_endpoint = "tcp://127.0.0.1:7601";
  std::string server_public_key_file;  // security.mode curve: breachwatchd's server.pub
  std::string client_secret_key_file;  // the console's own CURVE secret key
  int64_t request_timeout_ms = 5000;
  int64_t poll_interval_s = 10;  // alerts.since safety poll while a live queue is open
  // [users]
  std::string users_file = "/etc/breachwatch/console-users.toml";
  // [login]
  int64_t max_failures = 5;
  int64_t failure_window_s = 900;
  int64_t session_idle_s = 1800;
  int64_t session_max_s = 43200;
  // [audit]
  std::string audit_file = "console-audit.jsonl";  // relative: $STATE_DIRECTORY or cwd
  // [map]
  std::string zones_file = "zones/london_lad22_bgc_wgs84.geojson";
  std::string zones_code_property = "LAD22CD";
  std::string zones_name_property = "LAD22NM";
  std::string tile_url;          // e.g. https://tiles.example.police.uk/{z}/{x}/{y}.png
  std::string tile_attribution;  // shown under the map with tile_url
  // [reports]
  int64_t unactioned_after_s = 3600;
  // [log]
  std::string log_level = "info";

  // True when `listen` is a loopback address (127.0.0.0/8, [::1], localhost).
  bool ListensOnLoopback() const;
  bool Tls() const { return !tls_certificate_file.empty(); }
};

// Parses and validates TOML text; relative paths resolve against `config_dir`.  Unknown keys,
// wrong types and values out of range are errors naming the key.  Plain HTTP on a non-loopback
// address is refused here (field "http.tls_certificate_file").
Result<ConsoleConfig> ParseConsoleConfig(std::string_view toml_text, const std::string& config_dir,
                                         const std::string& source_name);
Result<ConsoleConfig> LoadConsoleConfigFile(const std::string& path);

// Every section and key with its documentation and default (commented where no default).
std::string RenderConsoleExampleConfig();

// The effective settings as TOML (for --check).
std::string RenderConsoleConfig(const ConsoleConfig& config);

}  // namespace bw::console
