// ConnectionGuard: keeps the daemon's file descriptors from running out (issue 12, defect 4).
//
// ZeroMQ has no cap on the connections a bound socket accepts, and when accept() fails with
// EMFILE libzmq's I/O thread retries at once, forever, while the control socket can take no one.
// So, once per tick, the guard counts the connections accepted on each bound endpoint (the
// process's sockets whose local address is that endpoint: /proc/self/fd) and, over the per-socket
// cap, shuts down the surplus: first those that never sent a byte (half-open, no ZMTP greeting),
// the longest silent first, then the newest.  libzmq sees each as a failed connection and frees
// it; a real client reconnects.  The cap is `[limits] max_connections_per_socket`, lowered so that every
// bound socket at its cap still leaves `kReservedDescriptors` of RLIMIT_NOFILE for the store,
// the feeds and the rest (the limit is read each time: it can change under a running process).
//
// RaiseDescriptorLimit() at start-up raises the soft RLIMIT_NOFILE to the hard one (the unit sets
// LimitNOFILE; under its seccomp filter setrlimit is refused and the unit's value stands).
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bw {

// The connections accepted on the bound `endpoint` (tcp://host:port or ipc://path): the process's
// sockets that are not listening and whose local address is that endpoint's.
std::vector<int> AcceptedConnections(const std::string& endpoint);

class ConnectionGuard {
 public:
  static constexpr int64_t kReservedDescriptors = 128;

  explicit ConnectionGuard(int64_t max_connections_per_socket);

  // Raises the soft RLIMIT_NOFILE to the hard limit; logs the limit in force.
  static void RaiseDescriptorLimit();

  // Watches a bound socket (its last_endpoint is read at each check); `name` for logs.
  void Watch(const std::string& name, zmq::socket_t* socket);
  // Once per tick: sheds the connections over each socket's cap.
  void Check();

  int64_t cap() const;  // the per-socket cap in force now
  int64_t shed() const { return shed_; }

 private:
  struct Watched {
    std::string name;
    zmq::socket_t* socket;
    std::map<int, std::chrono::steady_clock::time_point> first_seen;  // by fd
  };
  int64_t max_per_socket_;
  std::vector<Watched> watched_;
  int64_t shed_ = 0;
};

}  // namespace bw
