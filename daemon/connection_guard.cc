#include "daemon/connection_guard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace bw {

std::vector<int> AcceptedConnections(const std::string& endpoint) {
  std::vector<int> fds;
  const bool tcp = endpoint.rfind("tcp://", 0) == 0;
  const bool ipc = endpoint.rfind("ipc://", 0) == 0;
  if (!tcp && !ipc) return fds;
  int port = 0;
  std::string path;
  if (tcp) {
    port = std::atoi(endpoint.substr(endpoint.rfind(':') + 1).c_str());
  } else {
    path = endpoint.substr(6);
  }
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    sockaddr_storage addr{};
    len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    bool ours = false;
    if (tcp && addr.ss_family == AF_INET) {
      ours = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port) == port;
    } else if (tcp && addr.ss_family == AF_INET6) {
      ours = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port) == port;
    } else if (ipc && addr.ss_family == AF_UNIX) {
      ours = path == reinterpret_cast<sockaddr_un*>(&addr)->sun_path;
    }
    if (ours) fds.push_back(fd);
  }
  closedir(dir);
  return fds;
}

namespace {

// What TCP says of a connection: whether the peer has sent any byte, and how long ago (ms) it
// last sent anything, a bare ACK included (for a connection that never sent a byte: its age).
// Not TCP (ipc): treated as having sent.
struct Activity {
  bool silent = false;
  uint32_t quiet_ms = 0;
};
Activity ActivityOf(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return {};
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return {};
  return {info.tcpi_bytes_received == 0, info.tcpi_last_ack_recv};
}

int64_t SoftDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<int64_t>(lim.rlim_cur);
}

}  // namespace

ConnectionGuard::ConnectionGuard(int64_t max_connections_per_socket)
    : max_per_socket_(max_connections_per_socket) {}

void ConnectionGuard::RaiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      lim = raised;
    } else {
      spdlog::warn("cannot raise the descriptor limit from {} to {}: {} (set LimitNOFILE)",
                   lim.rlim_cur, lim.rlim_max, std::strerror(errno));
    }
  }
  spdlog::info("descriptor limit {}", lim.rlim_cur);
}

void ConnectionGuard::Watch(const std::string& name, zmq::socket_t* socket) {
  watched_.push_back(Watched{name, socket, {}});
}

int64_t ConnectionGuard::cap() const {
  if (watched_.empty()) return max_per_socket_;
  const int64_t share =
      (SoftDescriptorLimit() - kReservedDescriptors) / static_cast<int64_t>(watched_.size());
  return std::max<int64_t>(8, std::min(max_per_socket_, share));
}

void ConnectionGuard::Check() {
  const int64_t limit = cap();
  const auto now = std::chrono::steady_clock::now();
  for (auto& w : watched_) {
    if (w.socket == nullptr || !w.socket->handle()) continue;
    std::string endpoint;
    try {
      endpoint = w.socket->get(zmq::sockopt::last_endpoint);
    } catch (const zmq::error_t&) {
      continue;
    }
    const std::vector<int> fds = AcceptedConnections(endpoint);
    std::map<int, std::chrono::steady_clock::time_point> seen;
    for (int fd : fds) {
      auto it = w.first_seen.find(fd);
      seen[fd] = it != w.first_seen.end() ? it->second : now;
    }
    w.first_seen = std::move(seen);
    if (static_cast<int64_t>(fds.size()) <= limit) continue;
    // Surplus: those that never sent a byte first, the longest silent first (a legitimate client
    // that has only just connected and not yet sent its greeting goes last of them); then the
    // newest.
    struct Candidate {
      int fd;
      Activity activity;
      std::chrono::steady_clock::time_point seen;
    };
    std::vector<Candidate> candidates;
    for (int fd : fds) candidates.push_back({fd, ActivityOf(fd), w.first_seen[fd]});
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.activity.silent != b.activity.silent) return a.activity.silent;
      if (a.activity.silent) return a.activity.quiet_ms > b.activity.quiet_ms;
      return a.seen > b.seen;
    });
    const size_t surplus = fds.size() - static_cast<size_t>(limit);
    size_t silent = 0;
    for (size_t i = 0; i < surplus; ++i) {
      ::shutdown(candidates[i].fd, SHUT_RDWR);  // libzmq frees it as a failed connection
      w.first_seen.erase(candidates[i].fd);
      silent += candidates[i].activity.silent;
    }
    shed_ += static_cast<int64_t>(surplus);
    spdlog::warn(
        "{} socket: {} connections over its cap of {}; shut down {} ({} of them had never "
        "sent a byte)",
        w.name, fds.size(), limit, surplus, silent);
  }
}

}  // namespace bw
