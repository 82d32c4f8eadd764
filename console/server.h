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
#include <memory>
#include <mutex>
#include <string>

#include "console/console_config.h"
#include "console/daemon_link.h"
#include "console/sessions.h"
#include "console/users.h"

namespace bw::console {

// Appends one JSON object per line; flushed and fdatasync'ed per event.  Thread-safe.
class ConsoleAudit {
 public:
  Status Open(const std::string& path);
  // `event`: login, login_failed, login_rate_limited, logout, unauthenticated, csrf_refused,
  // forbidden.
  void Write(const std::string& event, const std::string& username, const std::string& identity,
             const std::string& client, const std::string& detail);
  const std::string& path() const { return path_; }

 private:
  std::mutex mu_;
  std::string path_;
  int fd_ = -1;
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
