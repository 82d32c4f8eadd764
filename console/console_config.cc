// The console's settings table and everything it drives: parsing, validation, example rendering.
//
// To add a setting: add the member to ConsoleConfig, add one Setting to Table() below, regenerate
// console/breachwatch-console.example.toml (`breachwatch-console example-config`; the unit test
// console_config_test compares the file with the rendering).
#include "console/console_config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

#ifndef BREACHWATCH_DATA_DIR
#error "BREACHWATCH_DATA_DIR must be defined (console/CMakeLists.txt does)"
#endif

namespace bw::console {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr int64_t kDay = 86400;

enum class Type { kString, kInt };
enum class Format {
  kText,        // any non-empty string
  kEnum,        // one of Setting::allowed
  kHostPort,    // host:port
  kEndpoint,    // tcp://host:port or ipc://path
  kConfigPath,  // relative to the config file's directory; existence checked by its reader
  kDataPath,    // relative: config dir, then <datadir>/breachwatch/console (or /breachwatch)
  kUrl,         // https:// or http://
};

struct Section {
  std::string_view name;
  std::string_view doc;
};

// One setting.  Exactly one of str / integer is set, per `type`.
struct Setting {
  std::string_view section;
  std::string_view key;
  Type type = Type::kString;
  std::string_view doc;
  std::function<std::string&(ConsoleConfig&)> str;
  std::function<int64_t&(ConsoleConfig&)> integer;
  Format format = Format::kText;
  std::vector<std::string_view> allowed;
  int64_t min = 0;
  int64_t max = kMaxInt;
  std::string_view example;  // shown (commented) instead of an empty default
};

#define BW_REF(member) \
  [](ConsoleConfig & c) -> auto& { return c.member; }

Setting Str(std::string_view section, std::string_view key,
            std::function<std::string&(ConsoleConfig&)> ref, Format format, std::string_view doc,
            std::string_view example = {}) {
  Setting s;
  s.section = section;
  s.key = key;
  s.type = Type::kString;
  s.doc = doc;
  s.str = std::move(ref);
  s.format = format;
  s.example = example;
  return s;
}

Setting Int(std::string_view section, std::string_view key,
            std::function<int64_t&(ConsoleConfig&)> ref, int64_t min, int64_t max,
            std::string_view doc) {
  Setting s;
  s.section = section;
  s.key = key;
  s.type = Type::kInt;
  s.doc = doc;
  s.integer = std::move(ref);
  s.min = min;
  s.max = max;
  return s;
}

const std::vector<Section>& Sections() {
  static const std::vector<Section> kSections = {
      {"http",
       "The web server the control room's browsers connect to. On any address other than "
       "loopback it serves HTTPS only: without tls_certificate_file and tls_private_key_file the "
       "console refuses to start (exit 78)."},
      {"daemon",
       "How the console reaches breachwatchd: the control socket (REQ, one request per call) and "
       "the alert PUB (SUB, used to wake the live queues). With the daemon in security.mode "
       "\"curve\", give the daemon's public key and the console's own key pair; allow-list the "
       "console's key with role administrator (or control_room) so that it may act for the "
       "officers who log in (audited \"on behalf of\" them)."},
      {"users",
       "Who may log in: a TOML file of [[user]] tables (username, password_hash made by "
       "`breachwatch-console hash-password`, identity, role officer | control_room | "
       "administrator, control_ids for a control room). Re-read when it changes: a removed user, "
       "or one whose role changed, loses their session at their next request."},
      {"login", "Login and session limits."},
      {"audit",
       "The console's own events (logins, failed and refused logins, logouts, refused requests) "
       "as JSON Lines. Everything the console asks the daemon is audited by the daemon itself, "
       "with the logged-in user's identity as officer_id and the user's reason."},
      {"map",
       "The map. Borough boundaries are drawn from a zone GeoJSON file (use the daemon's first "
       "[[zones]] file) so the map works without any tile server."},
      {"reports", "The \"no record of action taken\" report."},
      {"log", "Logging, to standard error (the journal under systemd)."},
  };
  return kSections;
}

const std::vector<Setting>& Table() {
  static const std::vector<Setting>* const kTable = [] {
    auto* table = new std::vector<Setting>{
        Str("http", "listen", BW_REF(listen), Format::kHostPort,
            "Address and port to listen on, host:port (IPv6 in brackets)."),
        Str("http", "tls_certificate_file", BW_REF(tls_certificate_file), Format::kConfigPath,
            "PEM certificate chain for HTTPS. Required on a non-loopback address. A relative path "
            "is relative to this file's directory; ${CREDENTIALS_DIRECTORY} is systemd's "
            "credentials directory.",
            "\"/etc/breachwatch/console-tls.crt\""),
        Str("http", "tls_private_key_file", BW_REF(tls_private_key_file), Format::kConfigPath,
            "PEM private key of that certificate (mode 0640, group breachwatch-console).",
            "\"/etc/breachwatch/console-tls.key\""),
        Str("http", "static_dir", BW_REF(static_dir), Format::kDataPath,
            "Directory of the console's pages, scripts and styles. A relative path is looked up "
            "next to this file, then in breachwatch's data directory "
            "(<install-prefix>/share/breachwatch/console)."),
        Str("http", "leaflet_dir", BW_REF(leaflet_dir), Format::kConfigPath,
            "Directory holding leaflet.js and leaflet.css (Debian package libjs-leaflet), served "
            "under /leaflet/. Nothing is fetched from the internet."),
        Str("daemon", "control_endpoint", BW_REF(control_endpoint), Format::kEndpoint,
            "breachwatchd's control endpoint ([control] endpoint of its config)."),
        Str("daemon", "alerts_endpoint", BW_REF(alerts_endpoint), Format::kEndpoint,
            "breachwatchd's alert endpoint ([alerts] endpoint of its config)."),
        Str("daemon", "server_public_key_file", BW_REF(server_public_key_file), Format::kConfigPath,
            "security.mode curve: the daemon's public key (server.pub).",
            "\"/etc/breachwatch/server.pub\""),
        Str("daemon", "client_secret_key_file", BW_REF(client_secret_key_file), Format::kConfigPath,
            "security.mode curve: the console's secret key (`breachctl keys generate console "
            "--role administrator`).",
            "\"/etc/breachwatch/console.key\""),
        Int("daemon", "request_timeout_ms", BW_REF(request_timeout_ms), 100, 600'000,
            "How long to wait for the daemon's reply to one request."),
        Int("daemon", "poll_interval_s", BW_REF(poll_interval_s), 1, 3600,
            "While a live queue is open, alerts.since is also asked this often even without a "
            "published alert, so that alerts published while the console was cut off from the "
            "daemon still arrive."),
        Str("users", "file", BW_REF(users_file), Format::kConfigPath,
            "The users file. A relative path is relative to this file's directory."),
        Int("login", "max_failures", BW_REF(max_failures), 1, 1000,
            "Failed logins allowed per username within failure_window_s (and four times as many "
            "per client address); further attempts are refused (HTTP 429) without checking the "
            "password until the window has passed. Each failure and refusal is recorded in "
            "audit.file."),
        Int("login", "failure_window_s", BW_REF(failure_window_s), 1, kDay,
            "The window over which failed logins are counted."),
        Int("login", "session_idle_s", BW_REF(session_idle_s), 60, kDay,
            "A session unused this long ends; the user logs in again."),
        Int("login", "session_max_s", BW_REF(session_max_s), 60, 7 * kDay,
            "A session ends this long after login whatever its use."),
        Str("audit", "file", BW_REF(audit_file), Format::kText,
            "JSON Lines file of the console's own events. A relative path is relative to "
            "$STATE_DIRECTORY when systemd sets it (/var/lib/breachwatch-console), otherwise to "
            "the working directory."),
        Str("map", "zones_file", BW_REF(zones_file), Format::kDataPath,
            "GeoJSON FeatureCollection of the areas drawn as the base layer. A relative path is "
            "looked up next to this file, then in breachwatch's data directory "
            "(<install-prefix>/share/breachwatch)."),
        Str("map", "code_property", BW_REF(zones_code_property), Format::kText,
            "Feature property holding the area code (GSS code)."),
        Str("map", "name_property", BW_REF(zones_name_property), Format::kText,
            "Feature property holding the area name."),
        Str("map", "tile_url", BW_REF(tile_url), Format::kUrl,
            "Optional raster tile server, {z}/{x}/{y} template, drawn under the boundaries (the "
            "browsers fetch tiles from it directly). Leave out to draw boundaries only.",
            "\"https://tiles.example.police.uk/{z}/{x}/{y}.png\""),
        Str("map", "tile_attribution", BW_REF(tile_attribution), Format::kText,
            "Attribution shown with the tiles.", "\"© the tile provider\""),
        Int("reports", "unactioned_after_s", BW_REF(unactioned_after_s), 0, 100LL * 365 * kDay,
            "Default age in seconds from which an open alert appears on the \"no record of action "
            "taken\" report (the page lets the user change it)."),
        Str("log", "level", BW_REF(log_level), Format::kEnum, "Least severe level logged."),
    };
    table->back().allowed = {"trace", "debug", "info", "warn", "error"};
    return table;
  }();
  return *kTable;
}

#undef BW_REF

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

std::string Where(const toml::source_region& r, const std::string& source_name) {
  if (r.begin.line == 0) return "";
  return " (" + (source_name.empty() ? std::string("line") : source_name) + ":" +
         std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) + ")";
}

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty() || std::filesystem::path(file).is_absolute()) return file;
  return (std::filesystem::path(dir) / file).lexically_normal().string();
}

bool Exists(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

// host:port; fills host (without brackets).  Empty string = ok, else the reason.
std::string ParseHostPort(std::string_view text, std::string* host_out, int* port_out) {
  std::string_view host, port;
  if (text.starts_with("[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return "must be host:port, IPv6 in brackets ([::1]:7680)";
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "must be host:port";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 host must be in brackets";
  }
  if (host.empty()) return "needs a host";
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "needs a numeric port";
  }
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return "port must be 1 to 65535";
  if (host_out) *host_out = std::string(host);
  if (port_out) *port_out = p;
  return "";
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  int a, b, c, d;
  char tail;
  if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) != 4) return false;
  return a == 127 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
}

constexpr std::string_view kCredentials = "${CREDENTIALS_DIRECTORY}";

Status CheckString(const Setting& s, std::string& value, const std::string& path,
                   const std::string& where, const std::string& config_dir) {
  if (value.empty()) return Status::BadInput(path, "must not be empty (leave the key out)" + where);
  switch (s.format) {
    case Format::kText:
      return Status::Ok();
    case Format::kEnum:
      if (std::find(s.allowed.begin(), s.allowed.end(), value) == s.allowed.end()) {
        std::string list;
        for (auto a : s.allowed) list += (list.empty() ? "" : ", ") + Quote(a);
        return Status::BadInput(path,
                                "must be one of " + list + " (got " + Quote(value) + ")" + where);
      }
      return Status::Ok();
    case Format::kHostPort: {
      std::string why = ParseHostPort(value, nullptr, nullptr);
      if (!why.empty()) return Status::BadInput(path, why + " (got " + Quote(value) + ")" + where);
      return Status::Ok();
    }
    case Format::kEndpoint:
      if (value.starts_with("ipc://") && value.size() > 6) return Status::Ok();
      if (value.starts_with("tcp://") &&
          ParseHostPort(std::string_view(value).substr(6), nullptr, nullptr).empty()) {
        return Status::Ok();
      }
      return Status::BadInput(
          path, "must be tcp://host:port or ipc://path (got " + Quote(value) + ")" + where);
    case Format::kUrl:
      if (value.starts_with("https://") || value.starts_with("http://")) return Status::Ok();
      return Status::BadInput(path, "must be an http(s):// URL" + where);
    case Format::kConfigPath:
      if (value.starts_with(kCredentials)) {
        const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
        if (dir == nullptr || *dir == '\0') {
          return Status::BadInput(path,
                                  "names ${CREDENTIALS_DIRECTORY} but CREDENTIALS_DIRECTORY is not "
                                  "set (systemd sets it for a unit with LoadCredential=)" +
                                      where);
        }
        value = std::string(dir) + value.substr(kCredentials.size());
      }
      value = JoinPath(config_dir, value);
      return Status::Ok();
    case Format::kDataPath: {
      if (std::filesystem::path(value).is_absolute()) return Status::Ok();
      const std::string near = JoinPath(config_dir.empty() ? "." : config_dir, value);
      const std::string in_console = JoinPath(BREACHWATCH_DATA_DIR "/console", value);
      const std::string in_data = JoinPath(BREACHWATCH_DATA_DIR, value);
      for (const auto& candidate : {near, in_console, in_data}) {
        if (Exists(candidate)) {
          value = candidate;
          return Status::Ok();
        }
      }
      value = near;  // reported by whoever reads it
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace

bool ConsoleConfig::ListensOnLoopback() const {
  std::string host;
  if (!ParseHostPort(listen, &host, nullptr).empty()) return false;
  return IsLoopbackHost(host);
}

Result<ConsoleConfig> ParseConsoleConfig(std::string_view toml_text, const std::string& config_dir,
                                         const std::string& source_name) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::BadInput(
        "", "TOML syntax error: " + std::string(e.description()) + Where(e.source(), source_name));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    return Status::BadInput("", "TOML syntax error: " + std::string(parsed.error().description()) +
                                    Where(parsed.error().source(), source_name));
  }
  root = std::move(parsed).table();
#endif
  ConsoleConfig config;
  for (const auto& [k, v] : root) {
    const std::string name(k.str());
    bool known = std::any_of(Sections().begin(), Sections().end(),
                             [&](const Section& s) { return s.name == name; });
    if (!known) {
      return Status::BadInput(name, std::string(v.is_table() ? "unknown section" : "unknown key") +
                                        Where(k.source(), source_name));
    }
    if (!v.is_table()) {
      return Status::BadInput(name,
                              "must be a [" + name + "] section" + Where(v.source(), source_name));
    }
    for (const auto& [sk, sv] : *v.as_table()) {
      const std::string path = name + "." + std::string(sk.str());
      bool known_key = std::any_of(Table().begin(), Table().end(), [&](const Setting& s) {
        return s.section == name && s.key == sk.str();
      });
      if (!known_key)
        return Status::BadInput(path, "unknown key" + Where(sk.source(), source_name));
    }
  }
  for (const Setting& s : Table()) {
    const std::string path = std::string(s.section) + "." + std::string(s.key);
    const toml::node* node = root.at_path(path).node();
    if (s.type == Type::kString) {
      std::string& value = s.str(config);
      if (node) {
        const std::string where = Where(node->source(), source_name);
        if (!node->is_string()) return Status::BadInput(path, "must be a string" + where);
        value = node->as_string()->get();
        Status st = CheckString(s, value, path, where, config_dir);
        if (!st.ok()) return st;
      } else if (!value.empty()) {
        Status st = CheckString(s, value, path, "", config_dir);
        if (!st.ok()) return st;
      }
    } else {
      if (!node) continue;
      const std::string where = Where(node->source(), source_name);
      if (!node->is_integer()) return Status::BadInput(path, "must be an integer" + where);
      int64_t n = node->as_integer()->get();
      if (n < s.min || n > s.max) {
        return Status::BadInput(path, "must be " + std::to_string(s.min) + " to " +
                                          std::to_string(s.max) + " (got " + std::to_string(n) +
                                          ")" + where);
      }
      s.integer(config) = n;
    }
  }
  if (config.tls_certificate_file.empty() != config.tls_private_key_file.empty()) {
    return Status::BadInput(config.tls_certificate_file.empty() ? "http.tls_certificate_file"
                                                                : "http.tls_private_key_file",
                            "tls_certificate_file and tls_private_key_file go together");
  }
  if (!config.Tls() && !config.ListensOnLoopback()) {
    return Status::BadInput(
        "http.tls_certificate_file",
        "required: http.listen " + Quote(config.listen) +
            " is not a loopback address, and the console serves plain HTTP on loopback only");
  }
  if (config.server_public_key_file.empty() != config.client_secret_key_file.empty()) {
    return Status::BadInput(config.server_public_key_file.empty() ? "daemon.server_public_key_file"
                                                                  : "daemon.client_secret_key_file",
                            "server_public_key_file and client_secret_key_file go together");
  }
  if (config.tile_attribution.size() && config.tile_url.empty()) {
    return Status::BadInput("map.tile_attribution", "only with map.tile_url");
  }
  return config;
}

Result<ConsoleConfig> LoadConsoleConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  auto config = ParseConsoleConfig(ss.str(), dir.empty() ? "." : dir, path);
  if (config.ok()) config->config_path = path;
  return config;
}

namespace {
std::string Wrap(std::string_view text, std::string_view prefix) {
  std::string out, line(prefix);
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (line.size() > prefix.size() && line.size() + 1 + word.size() > 99) {
      out += line + "\n";
      line = std::string(prefix);
    }
    if (line.size() > prefix.size()) line += ' ';
    line += word;
  }
  if (line.size() > prefix.size()) out += line + "\n";
  return out;
}

std::string DefaultText(const Setting& s, const ConsoleConfig& defaults) {
  ConsoleConfig copy = defaults;
  if (s.type == Type::kInt) return std::to_string(s.integer(copy));
  return Quote(s.str(copy));
}
}  // namespace

std::string RenderConsoleExampleConfig() {
  const ConsoleConfig defaults;
  std::string out =
      "# breachwatch-console configuration: every key with its documentation and default.\n"
      "# Generated from the settings table (console/console_config.cc); check a config with\n"
      "#   breachwatch-console --config FILE --check\n";
  for (const Section& sec : Sections()) {
    out += "\n" + Wrap(sec.doc, "# ") + "[" + std::string(sec.name) + "]\n";
    for (const Setting& s : Table()) {
      if (s.section != sec.name) continue;
      out += Wrap(s.doc, "# ");
      ConsoleConfig copy = defaults;
      bool unset = s.type == Type::kString && s.str(copy).empty();
      if (unset) {
        out += "# " + std::string(s.key) + " = " + std::string(s.example) + "\n";
      } else {
        out += std::string(s.key) + " = " + DefaultText(s, defaults) + "\n";
      }
    }
  }
  return out;
}

std::string RenderConsoleConfig(const ConsoleConfig& config) {
  std::string out;
  ConsoleConfig copy = config;
  for (const Section& sec : Sections()) {
    out += "[" + std::string(sec.name) + "]\n";
    for (const Setting& s : Table()) {
      if (s.section != sec.name) continue;
      if (s.type == Type::kInt) {
        out += std::string(s.key) + " = " + std::to_string(s.integer(copy)) + "\n";
      } else if (!s.str(copy).empty()) {
        out += std::string(s.key) + " = " + Quote(s.str(copy)) + "\n";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace bw::console
