// ConsoleServer: the console's HTTP(S) server (Boost.Beast, OpenSSL for TLS).
//
// One thread per connection, synchronous reads and writes with socket time-outs: the number of
// browsers in a control room is small, a live queue (Server-Sent Events) holds its connection
// open, and a blocking control request to the daemon then stalls only its own browser.  At most
// kMaxConnections connections are served at once; more are closed on accept.
//
// What each route does and who may use it is in docs/console.md.  The console's own events
// (logins, failures, refusals) go to ConsoleAudit, a JSON Lines file.
//
// Threading: Run() blocks the calling thread in the accept loop until Stop() (any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "console/console_config.h"
#include "console/daemon_link.h"
#include "console/sessions.h"
#include "console/users.h"

namespace bw::console {

// The console's own events: one JSON object per line, fdatasync'ed per event, and a line in the
// log.  A refusal repeated by one client (the same event from the same address) is written at
// most kBurst times per kWindow; the rest are counted and written as one summary event
// ("N more ... not written one by one") once the window has passed, so a client hammering the
// console cannot flood the file or the disk.  Logins and logouts are always written.
// Thread-safe.
class ConsoleAudit {
 public:
  static constexpr int kBurst = 10;
  static constexpr std::chrono::seconds kWindow{60};

  Status Open(const std::string& path);
  // `event`: login, login_failed, login_rate_limited, logout, unauthenticated, csrf_refused,
  // forbidden.
  void Write(const std::string& event, const std::string& username, const std::string& identity,
             const std::string& client, const std::string& detail) {
    Write(event, username, identity, client, detail, Clock::now());
  }
  void Write(const std::string& event, const std::string& username, const std::string& identity,
             const std::string& client, const std::string& detail, Clock::time_point now);
  const std::string& path() const { return path_; }

 private:
  struct Throttle {
    Clock::time_point window_start;
    int written = 0;
    int suppressed = 0;
  };
  void Append(const std::string& event, const std::string& username, const std::string& identity,
              const std::string& client, const std::string& detail);  // mu_ held
  void Sweep(Clock::time_point now);                                  // mu_ held

  std::mutex mu_;
  std::string path_;
  int fd_ = -1;
  std::map<std::string, Throttle> throttle_;  // by "event|client"
  Clock::time_point last_sweep_{};
};

class ConsoleServer {
 public:
  static constexpr int kMaxConnections = 256;

  ConsoleServer(ConsoleConfig config, DaemonLink& daemon, ConsoleAudit& audit);
  ~ConsoleServer();

  // Loads TLS material and the zone file, binds.  Errors name the config key.
  Status Listen();
  // The bound host:port (after Listen).
  std::string bound() const;
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::console
