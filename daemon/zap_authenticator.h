// ZapAuthenticator: breachwatchd's ZAP handler (ZeroMQ RFC 27) for CURVE.  It binds
// inproc://zeromq.zap.01 in the daemon's zmq context and answers every handshake on the daemon's
// CURVE server sockets: 200 with User-Id = the client's identity when the public key is
// allow-listed and its role may use that socket (AccessPolicy MayConnect on the ZAP domain),
// 400 otherwise.  Each refusal is handed to `on_refusal` for the audit log.
//
// Fail closed.  libzmq admits any client key when no ZAP handler is bound, so:
//  - the socket is owned by this object, not by the handler thread: if the thread ends (an
//    exception, the fault seam) the endpoint stays bound and handshakes wait unanswered until
//    libzmq times them out; it is closed only by the destructor, after the daemon has closed its
//    server sockets;
//  - the daemon also sets ZMQ_ZAP_ENFORCE_DOMAIN on its sockets (no handler -> refused);
//  - Probe() sends a real ZAP request and waits for the answer: the daemon calls it before it
//    binds or connects anything, and StillAnswering() from its periodic tick.
//
// Threading: the handler runs on its own thread.  Start(), Probe(), StillAnswering(),
// InjectFault() and the destructor belong to the owner thread (the daemon's loop).
// SetAllowList() and allowlist() may be called from any thread (a mutex guards the pointer;
// the list itself is immutable).  `on_refusal` and `on_death` are called on the handler thread
// and must only hand the record over (e.g. lock a queue and asio::post).
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "daemon/client_allowlist.h"
#include "handlers/base/clock.h"
#include "handlers/base/status.h"

namespace bw {

struct AuthRefusal {
  TimePoint at;
  std::string domain;      // which socket: control, alerts, feed:<name>, replay:<name>
  std::string address;     // the peer's IP address (empty for ipc)
  std::string mechanism;   // CURVE, NULL, PLAIN
  std::string public_key;  // Z85, when CURVE
  std::string reason;
};

class ZapAuthenticator {
 public:
  using RefusalFn = std::function<void(AuthRefusal)>;
  using DeathFn = std::function<void(const std::string& why)>;
  // Fault seam (BREACHWATCH_FAULT_FILE directives zap_handler_exit / zap_handler_hang): the
  // handler thread returns as if it had failed, or stops answering while it keeps running.
  enum class Fault { kNone, kExit, kHang };

  ZapAuthenticator(zmq::context_t& ctx, std::shared_ptr<const ClientAllowList> clients,
                   RefusalFn on_refusal, DeathFn on_death);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Binds the ZAP endpoint and starts the handler thread.  Unavailable when the endpoint is
  // taken (another handler in this context) or the thread cannot start.
  Status Start();
  // Sends a real ZAP request (an unknown CURVE key) and waits up to `timeout` for the answer.
  Status Probe(std::chrono::milliseconds timeout);
  // Non-blocking watchdog for a periodic tick: sends a probe when none is outstanding; false once
  // one has waited longer than `timeout` for its answer (or the thread has ended).
  bool StillAnswering(std::chrono::milliseconds timeout);

  void SetAllowList(std::shared_ptr<const ClientAllowList> clients);
  std::shared_ptr<const ClientAllowList> allowlist() const;
  void InjectFault(Fault fault) { fault_ = fault; }

  int64_t admitted() const { return admitted_; }
  int64_t refused() const { return refused_; }

 private:
  void Serve();
  // Answers one request (frames after the routing id); false when it is malformed.
  void Answer(std::vector<zmq::message_t>& frames);
  bool SendProbe();
  // Reads a probe answer without blocking (or up to `wait`); true when one arrived.
  bool ReadProbeAnswer(std::chrono::milliseconds wait);

  zmq::context_t& ctx_;
  zmq::socket_t socket_;  // ROUTER on inproc://zeromq.zap.01, used by the handler thread
  std::unique_ptr<zmq::socket_t> probe_;  // DEALER, owner thread
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int64_t> admitted_{0};
  std::atomic<int64_t> refused_{0};
  mutable std::mutex mu_;
  std::shared_ptr<const ClientAllowList> clients_;  // guarded by mu_
  RefusalFn on_refusal_;
  DeathFn on_death_;
  // Owner-thread probe state.
  uint64_t probe_counter_ = 0;
  std::string outstanding_probe_;  // request id awaiting its answer; empty when none
  std::chrono::steady_clock::time_point probe_sent_at_{};
};

}  // namespace bw
