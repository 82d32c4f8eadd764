// breachwatch-console: the control-room console in the browser.  A separate process and a
// client of breachwatchd over the protocol, so the web-facing surface can never stall or crash
// monitoring.  Start-up errors exit 78 (EX_CONFIG) naming the key.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <termios.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "console/console_config.h"
#include "console/daemon_link.h"
#include "console/server.h"
#include "console/users.h"

namespace {
constexpr int kExitConfig = 78;  // EX_CONFIG

int ConfigError(const std::string& what) {
  std::fprintf(stderr, "breachwatch-console: configuration error: %s\n", what.c_str());
  return kExitConfig;
}

// Reads a password from the terminal without echo (or a line from a pipe).
std::string ReadPassword(const char* prompt) {
  const bool tty = ::isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~ECHO;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  return line;
}

std::string AuditPath(const std::string& configured) {
  if (std::filesystem::path(configured).is_absolute()) return configured;
  const char* state = std::getenv("STATE_DIRECTORY");
  if (state && *state) {
    std::string dir(state);
    dir = dir.substr(0, dir.find(':'));  // several directories: the first
    return dir + "/" + configured;
  }
  return configured;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "breachwatch-console - the control-room console in the browser: live alert queue, map,\n"
      "acknowledgement and outcome, person lookup, reports. A client of breachwatchd."};
  std::string config_path;
  bool check = false;
  app.add_option("-c,--config", config_path, "console TOML config file");
  app.add_flag("--check", check, "validate the configuration and the users file, then exit");
  app.set_version_flag("--version", std::string("breachwatch-console ") + BREACHWATCH_VERSION);

  auto* example = app.add_subcommand("example-config", "print the commented example config");
  auto* hash = app.add_subcommand(
      "hash-password",
      "read a password (no echo on a terminal, else one line of standard input) and print its "
      "argon2id hash; with --username, a whole [[user]] entry for the users file");
  std::string username, identity, role = "control_room";
  std::vector<std::string> control_ids;
  hash->add_option("--username", username, "login name");
  hash->add_option("--identity", identity, "officer_id sent to breachwatchd (default username)");
  hash->add_option("--role", role, "officer | control_room | administrator")->capture_default_str();
  hash->add_option("--control-id", control_ids, "control_room: a control id (repeatable)");
  CLI11_PARSE(app, argc, argv);

  if (!bw::console::InitSodium()) {
    std::fprintf(stderr, "breachwatch-console: libsodium cannot start\n");
    return 70;
  }
  if (*example) {
    std::cout << bw::console::RenderConsoleExampleConfig();
    return 0;
  }
  if (*hash) {
    std::string password = ReadPassword("password: ");
    if (password.size() < 8) {
      std::fprintf(stderr, "breachwatch-console: a password needs at least 8 characters\n");
      return 2;
    }
    auto h = bw::console::HashPassword(password);
    if (!h.ok()) {
      std::fprintf(stderr, "breachwatch-console: %s\n", h.status().ToString().c_str());
      return 1;
    }
    if (username.empty()) {
      std::cout << *h << "\n";
      return 0;
    }
    std::string entry = "[[user]]\nusername = \"" + username + "\"\npassword_hash = \"" + *h +
                        "\"\nidentity = \"" + (identity.empty() ? username : identity) +
                        "\"\nrole = \"" + role + "\"\n";
    if (!control_ids.empty()) {
      entry += "control_ids = [";
      for (size_t i = 0; i < control_ids.size(); ++i) {
        entry += (i ? ", \"" : "\"") + control_ids[i] + "\"";
      }
      entry += "]\n";
    }
    // Validate the entry the way the console will read it.
    auto parsed = bw::console::ParseUsers(entry, "<entry>");
    if (!parsed.ok()) {
      std::fprintf(stderr, "breachwatch-console: %s\n", parsed.status().ToString().c_str());
      return 2;
    }
    std::cout << entry;
    return 0;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "breachwatch-console: --config is required\n");
    return 2;
  }

  auto config = bw::console::LoadConsoleConfigFile(config_path);
  if (!config.ok()) return ConfigError(config.status().ToString());
  spdlog::set_default_logger(spdlog::stderr_color_mt("console"));
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  auto users = bw::console::LoadUsersFile(config->users_file);
  if (!users.ok()) return ConfigError(users.status().ToString());
  auto keys =
      bw::LoadCurveClientKeys(config->server_public_key_file, config->client_secret_key_file);
  if (!keys.ok()) return ConfigError("daemon: " + keys.status().ToString());

  bw::console::ConsoleAudit audit;
  const std::string audit_path = AuditPath(config->audit_file);
  if (check) {
    std::printf(
        "configuration OK: listen %s (%s), daemon control %s, alerts %s (%s), %zu user(s), "
        "console events to %s\n",
        config->listen.c_str(), config->Tls() ? "HTTPS" : "HTTP, loopback only",
        config->control_endpoint.c_str(), config->alerts_endpoint.c_str(),
        keys->enabled() ? "CURVE" : "no security", users->size(), audit_path.c_str());
    std::cout << bw::console::RenderConsoleConfig(*config);
    return 0;
  }
  if (auto s = audit.Open(audit_path); !s.ok()) return ConfigError(s.ToString());

  // Signals are taken by one thread with sigwait; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  bw::console::DaemonLink daemon(config->control_endpoint, config->alerts_endpoint,
                                 static_cast<int>(config->request_timeout_ms), *keys);
  bw::console::ConsoleServer server(*config, daemon, audit);
  if (auto s = server.Listen(); !s.ok()) return ConfigError(s.ToString());
  daemon.Start();
  std::thread signal_thread([&] {
    int signo = 0;
    sigwait(&signals, &signo);
    spdlog::info("signal {}: stopping", signo);
    sd_notify(0, "STOPPING=1");
    server.Stop();
  });
  spdlog::info("breachwatch-console listening on {}://{} (daemon {}), {} user(s), events to {}",
               config->Tls() ? "https" : "http", server.bound(), config->control_endpoint,
               users->size(), audit_path);
  std::printf("listening on %s://%s\n", config->Tls() ? "https" : "http", server.bound().c_str());
  std::fflush(stdout);
  sd_notify(0, "READY=1");
  server.Run();
  signal_thread.join();
  // Connection threads are detached and may be inside a request: leave without running static
  // destructors under them.  The audit file is written with fdatasync per event.
  std::fflush(stdout);
  std::_Exit(0);
}
