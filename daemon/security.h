// Security: transport security and access checks (security.mode "curve"; docs/security.md).
//  - makes each socket a CURVE server with ZAP enforced, and watches its failed handshakes;
//  - runs the ZAP handler (daemon/zap_authenticator.h, its own thread) with the client allow-list,
//    probes it at start-up and watches it every tick: if it stops answering, every endpoint is
//    closed (fail closed) through the `stop_serving` callback;
//  - audits refused handshakes, requests and subscriptions (rate-limited, with a summary row);
//  - decides who may send which control request, see which alerts, subscribe to which topics
//    (daemon/access_policy.h holds the rules).
// In mode "none" every check admits and nothing is started.
//
// Thread-safety: everything runs on the io_context's thread, except the ZAP handler's refusal
// callback, which hands refusals over under a mutex and posts to that thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/settings.h"
#include "daemon/curve_keys.h"
#include "daemon/store.h"
#include "daemon/zap_authenticator.h"
#include "daemon/zmq_watcher.h"
#include "handlers/base/clock.h"

namespace bw {

class Security {
 public:
  using AuditSink = std::function<void(const AuditRecord&)>;
  // Closes every server endpoint (the ZAP handler failed).
  using StopServingFn = std::function<void()>;

  Security(boost::asio::io_context& io, zmq::context_t& zmq, const Clock& clock,
           const SecurityConfig& config);
  ~Security();

  // Loads the server key and the allow-list, starts the ZAP handler and checks that it answers a
  // real request.  Call before any socket is bound or connected.
  [[nodiscard]] Status Start(AuditSink audit, StopServingFn stop_serving);
  bool curve() const { return config_.curve(); }
  // Makes `socket` a CURVE server for `domain` (ZAP enforced); throws zmq::error_t.
  void Secure(zmq::socket_t& socket, const std::string& domain);

  // Every tick: fault seam, ZAP watchdog, audit budget and summary.
  void Tick();
  // SIGHUP: reloads the allow-list (a removed key's next connection is refused).  True when a key
  // was removed or its entry changed: open connections must then be cut so that every client
  // goes through the ZAP handler and the subscription gate again (Daemon::Reload).
  bool Reload();
  // Stop: no further endpoint closing; monitors cancelled.
  void Cancel();
  // After the server sockets are closed: only then may the ZAP endpoint go.
  void Shutdown();
  bool serving() const { return serving_; }

  // A control request from `user_id` (ZAP User-Id; empty in mode none): Forbidden when its role
  // may not.  `*acting_for` is set when a control room or administrator acts for an officer.
  [[nodiscard]] Status AuthoriseControl(const std::string& op,
                                        const std::string& claimed_officer_id,
                                        const std::string& user_id, std::string* acting_for);
  // The recipient topics the requester answers for when acknowledging or resolving an alert
  // (access_policy.h ActorTopics): from the authenticated client in mode curve, from the claimed
  // `officer_id` in mode none.
  std::vector<std::string> ActorTopics(const std::string& user_id, const std::string& officer_id,
                                       const std::string& acting_for,
                                       const std::string& control_id) const;
  // Protocol 9.3: may `user_id` read a protected person's own record?  Mode none: yes (no
  // identities; loopback and ipc only).  Mode curve: control rooms and administrators.
  // `acting_for`, `control_id`: see access_policy.h.
  bool MaySeeProtectedPersonRecord(const std::string& user_id, const std::string& acting_for,
                                   const std::string& control_id) const;
  // Drops from an alerts.since / alerts.open reply the alerts `user_id` may not see.
  void FilterVisibleAlerts(const std::string& user_id, boost::json::object* reply) const;
  // XPUB_MANUAL gate: may the sender of `message` receive `topic`?  Refusals are audited.
  bool AdmitSubscription(zmq::message_t& message, const std::string& topic);

  boost::json::object StatusJson() const;
  std::string Metrics() const;

 private:
  struct SocketMonitor;
  size_t DrainMonitor(SocketMonitor& monitor, size_t budget);
  void OnAuthRefusal(AuthRefusal refusal);
  void WriteAuthRefusals();
  void AuditEvent(const std::string& actor, const std::string& op, const std::string& subjects,
                  const std::string& detail);
  // Fault seam (tests): BREACHWATCH_FAULT_FILE lines zap_handler_exit / zap_handler_hang.
  void ApplyZapFaults();
  void StopServing(const std::string& why);
  const ClientEntry* FindClient(const std::string& user_id) const;

  boost::asio::io_context& io_;
  zmq::context_t& zmq_;
  const Clock& clock_;
  const SecurityConfig& config_;
  AuditSink audit_;
  StopServingFn stop_serving_;
  // Declared before the monitors: the ZAP endpoint outlives every watched socket.
  std::unique_ptr<ZapAuthenticator> zap_;
  CurveKeyPair server_keys_;
  std::vector<std::unique_ptr<SocketMonitor>> monitors_;
  bool serving_ = true;
  bool cancelled_ = false;
  std::string not_serving_reason_;
  std::mutex refusals_mu_;
  std::vector<AuthRefusal> refusals_;  // guarded by refusals_mu_
  int64_t refusals_dropped_ = 0;       // guarded by refusals_mu_
  int64_t handshake_failures_ = 0;
  int64_t requests_refused_ = 0;
  int64_t subscriptions_refused_ = 0;
  int audit_budget_ = 0;         // audit rows for refusals left in this tick
  int64_t audit_suppressed_ = 0;  // refusals over the budget, summarised later
  // The same refusal (socket, key, reason) is audited once a minute.
  std::map<std::string, TimePoint> audit_last_;
  TimePoint audit_last_summary_{};
  std::filesystem::file_time_type fault_file_mtime_{};
};

}  // namespace bw
