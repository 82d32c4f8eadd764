// Daemon: breachwatchd's event loop.  One Boost.Asio io_context drives:
//  - a ZeroMQ SUB socket per configured feed (intake),
//  - a PUB socket for alerts (topic = recipient),
//  - a ROUTER socket for control requests,
//  - signals (SIGTERM/SIGINT stop gracefully, SIGHUP reloads zones and policy),
//  - the systemd watchdog.
// Intake and control are thin: bytes go to the pure decoder and Engine, results
// to the Store (committed first), then alerts are published.
//
// In security.mode "curve" every socket is a CURVE server and a ZAP handler (its own thread,
// daemon/zap_authenticator.h) admits only allow-listed client keys; see docs/security.md.
//
// Thread-safety: everything runs on the thread that calls Run(), except the ZAP handler, which
// hands its refusals to that thread (auth_refusals_ under its mutex, then asio::post).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "config/settings.h"
#include "daemon/curve_keys.h"
#include "daemon/metrics_server.h"
#include "daemon/store.h"
#include "daemon/zap_authenticator.h"
#include "daemon/zmq_watcher.h"
#include "handlers/engine/engine.h"
#include "handlers/feeds/feed_health.h"
#include "handlers/wire/control_request.h"

namespace bw {

// Reads the zone files named in `config` and builds the index.
Result<std::shared_ptr<const ZoneIndex>> LoadZones(const Config& config);

// Resolves the configured store path (relative -> $STATE_DIRECTORY or cwd).
std::string ResolveStorePath(const std::string& configured);

class Daemon {
 public:
  Daemon(Config config, const Clock& clock);
  ~Daemon();

  // Opens the store, loads zones, rebuilds state, binds and connects sockets.
  // Returns a non-ok status (never throws) when the daemon cannot serve.
  Status Start();
  // Runs until stopped by a signal or Stop().  Returns when all work is finished.
  void Run();
  // Graceful stop: cancels pending work so Run() returns.
  void Stop();

 private:
  struct Inbound {
    std::string channel;
    std::string topic;
    std::string payload;
    bool require_seq = true;
    std::string expected_topic;  // the feed's name; empty for control
    std::string frame_error;     // set when the frame structure itself is wrong
    // event.submit: the request's audit row, written as the collection record in
    // the same transaction as the inbound row (outcome and detail filled in then).
    const AuditRecord* request_audit = nullptr;
    bool* request_audit_written = nullptr;
  };
  struct FeedSocket {
    FeedConfig config;
    std::unique_ptr<zmq::socket_t> socket;
    std::unique_ptr<ZmqWatcher> watcher;
    int64_t received = 0;
    int64_t handled = 0;
    int64_t rejected = 0;
    int64_t duplicates = 0;
    TimePoint last_seen{};
    int64_t gaps = 0;
    // Replay endpoint (DEALER to the feed's ROUTER), when configured.
    std::unique_ptr<zmq::socket_t> replay;
    std::unique_ptr<ZmqWatcher> replay_watcher;
    int64_t replay_requests = 0;
    int64_t replayed = 0;
    // After a restart, live messages wait here until the replay endpoint has
    // caught us up, so events are handled in their order.
    bool catching_up = false;
    int outstanding_catch_up = 0;
    TimePoint catch_up_deadline{};
    std::vector<Inbound> held_live;
    // feed_rejected rate limiting.
    TimePoint last_rejected_alert{};
    int64_t rejected_since_alert = 0;
    int64_t last_dead_letter = 0;
  };
  struct ItemResult {
    std::string result;  // handled | duplicate | rejected | failed
    std::string reason;
    std::string message;
    std::vector<Alert> alerts;
    std::string source;
    int64_t seq = 0;
    int64_t dead_letter_id = 0;  // inbound row of a rejected message
  };

  size_t DrainFeed(FeedSocket& feed, size_t budget);
  size_t DrainControl(size_t budget);
  size_t DrainReplay(FeedSocket& feed, size_t budget);
  // Counters, seq gaps (asking the replay endpoint), liveness and rejection
  // alerts after a batch from `feed` has been handled.
  void AfterFeedResults(FeedSocket& feed, const std::vector<ItemResult>& results);
  void MaybeFeedRejectedAlert(FeedSocket& feed, TimePoint now, std::vector<Alert>* alerts);
  void FinishCatchUp(FeedSocket& feed, const char* why);
  void RequestReplay(FeedSocket& feed, const std::string& source, int64_t from_seq);
  // A feed-health alert to every control room.
  Alert FeedAlert(AlertKind kind, Severity severity, const FeedSocket& feed,
                  const std::string& source, const std::string& summary);
  // Stores (one transaction) and publishes alerts raised by the daemon itself.
  void RaiseDaemonAlerts(std::vector<Alert> alerts);
  // Handles a batch in one transaction; fills `results` one per input.  False
  // when the store failed: nothing of the batch was kept.
  bool ProcessBatch(std::vector<Inbound>& batch, std::vector<ItemResult>* results);
  // While the store fails, feed batches wait here (in order) and intake pauses:
  // nothing read is lost and nothing is acknowledged until it is stored.
  void HoldBatch(FeedSocket* feed, std::vector<Inbound> batch);
  void RetryHeldBatches();
  void PauseIntake();
  void ResumeIntake();
  Status ProcessOne(const Inbound& in, ItemResult* out, std::vector<Alert>* to_publish);
  // event.submit: writes the request's audit row (the collection record) next to row `row`.
  Status WriteRequestAudit(const Inbound& in, const InboundRecord& rec, int64_t row,
                           const char* outcome);
  void RecordRejection(const Inbound& in, const std::string& source, const Status& why);
  Status RecoverAfterFailedCommit();
  void Publish(const std::vector<Alert>& alerts);
  // `user_id` is the ZAP User-Id of the sender (security.mode curve); empty in mode none.
  std::string HandleControl(const std::string& op, const std::string& body,
                            const std::string& user_id);
  // Control ops: each returns the reply (without "ok") or an error, and fills
  // the audit record's subjects and detail.
  Result<boost::json::object> OpStatus(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpConditionsPerson(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpConditionsProtected(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpConditionsLocation(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpHistoryPerson(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpAlertsSince(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpAlertsOpen(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpAlertAck(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpAlertResolve(const ControlRequest& req, AuditRecord* audit);
  Result<boost::json::object> OpEventSubmit(const ControlRequest& req, AuditRecord* audit);
  static boost::json::object AlertStateJson(const AlertState& a);
  std::string NewAlertId();
  void Reload();
  void ArmSignals();
  void WaitSignal();
  void ArmWatchdog();
  // Time-driven work once a second: escalation of unacknowledged alerts and the
  // engine's tick rules (expiry warnings).  Deadlines live in the store, so a
  // restart neither loses nor resets them.
  void ArmTick();
  void RunTick();
  // Daily: erases dead letters and audit records past their retention (store.*_retention_days).
  void RunRetentionPurge(TimePoint now);
  // Assigns seq, alert_id and raised_at, and stores the alert with its first
  // escalation deadline.
  Status StoreAlert(Alert* alert, TimePoint now);
  boost::json::object StatusJson();
  std::string RenderMetrics();
  size_t DrainAlertSubscriptions(size_t budget);
  void ObserveCommit(std::chrono::steady_clock::duration d);

  // Transport security (daemon_security.cc, docs/security.md).  In mode curve every socket is a
  // CURVE server whose handshakes the ZAP handler answers; refusals are audited.
  struct SocketMonitor {
    std::string name;  // the ZAP domain of the watched socket
    std::unique_ptr<zmq::socket_t> socket;  // PAIR receiving the socket's handshake events
    std::unique_ptr<ZmqWatcher> watcher;
  };
  bool curve() const { return config_.security.mode == "curve"; }
  // Loads the server key and the allow-list, starts the ZAP handler and checks that it answers
  // a real request.  Called before any socket is bound or connected.
  Status StartSecurity();
  // Makes `socket` a CURVE server for `domain` (ZAP enforced) and watches its handshake failures.
  void SecureSocket(zmq::socket_t& socket, const std::string& domain);
  size_t DrainMonitor(SocketMonitor& monitor, size_t budget);
  // Handler-thread callbacks: hand over to the loop.
  void OnAuthRefusal(AuthRefusal refusal);
  void WriteAuthRefusals();
  // Periodic tick: fault seam, ZAP watchdog, audit rate budget.
  void CheckSecurity();
  // Fault seam (tests): BREACHWATCH_FAULT_FILE lines zap_handler_exit / zap_handler_hang.
  void ApplyZapFaults();
  // Closes every server endpoint (unbind / disconnect) and says so: the ZAP handler is gone.
  void StopServing(const std::string& why);
  // Control requests in mode curve: the actor is `user_id`; refuses (forbidden) what its role may
  // not do.  `*acting_for` is set when a control room or administrator acts for an officer.
  Status AuthoriseControl(const std::string& op, const std::string& claimed_officer_id,
                          const std::string& user_id, std::string* acting_for);
  // Drops from an alerts.since / alerts.open reply the alerts `user_id` may not see.
  void FilterVisibleAlerts(const std::string& user_id, boost::json::object* reply);
  // XPUB_MANUAL: applies an alert subscription when the subscriber's identity may see it.
  void ApplyAlertSubscription(zmq::message_t& message, bool subscribe, const std::string& topic);
  void ReloadClients();
  void AuditSecurityEvent(const std::string& actor, const std::string& op,
                          const std::string& subjects, const std::string& detail);
  boost::json::object SecurityStatusJson();
  std::string SecurityMetrics();
  void ShutdownSecurity();

  Config config_;
  const Clock& clock_;
  TimePoint started_at_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  zmq::context_t zmq_;
  // Declared before every socket: destroyed after them, so the ZAP endpoint stays bound while
  // any server socket is open (fail closed).
  std::unique_ptr<ZapAuthenticator> zap_;
  CurveKeyPair server_keys_;
  std::vector<std::unique_ptr<SocketMonitor>> monitors_;
  bool serving_ = true;
  std::string not_serving_reason_;
  std::mutex auth_refusals_mu_;
  std::vector<AuthRefusal> auth_refusals_;  // guarded by auth_refusals_mu_
  int64_t auth_refusals_dropped_ = 0;       // guarded by auth_refusals_mu_
  int64_t handshake_failures_ = 0;
  int64_t requests_refused_ = 0;
  int64_t subscriptions_refused_ = 0;
  int auth_audit_budget_ = 0;        // audit rows for refusals left in this tick
  int64_t auth_audit_suppressed_ = 0;  // refusals over the budget, summarised next tick
  // The same refusal (socket, key, reason) is audited once a minute: a refused client that keeps
  // reconnecting is counted in the summary row, not written every 100 ms.
  std::map<std::string, TimePoint> auth_audit_last_;
  TimePoint auth_audit_last_summary_{};
  std::filesystem::file_time_type fault_file_mtime_{};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  FeedHealth health_;
  std::shared_ptr<const ZoneIndex> zones_;
  std::vector<std::unique_ptr<FeedSocket>> feeds_;
  std::unique_ptr<zmq::socket_t> alerts_;
  std::unique_ptr<zmq::socket_t> control_;
  std::unique_ptr<ZmqWatcher> control_watcher_;
  std::unique_ptr<ZmqWatcher> alerts_watcher_;  // drains XPUB subscription messages
  std::unique_ptr<MetricsServer> metrics_;
  std::map<std::string, int64_t> alerts_by_kind_;
  int64_t publish_dropped_ = 0;
  int64_t subscribers_ = 0;
  // Commit latency histogram (seconds).
  static constexpr double kCommitBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025,  0.05,  0.1,    0.25,  1.0};
  int64_t commit_bucket_counts_[std::size(kCommitBuckets)] = {};
  int64_t commit_count_ = 0;
  double commit_seconds_sum_ = 0;
  int64_t next_alert_seq_ = 1;
  int64_t alerts_published_ = 0;
  int64_t control_requests_ = 0;
  // Set while a control op runs: where event.submit reports that it wrote the audit row.
  bool* audit_written_flag_ = nullptr;
  TimePoint next_retention_purge_{};  // the first tick purges
  int64_t store_failures_ = 0;
  bool store_healthy_ = true;
  bool engine_stale_ = false;  // state could not be rebuilt after a failure
  bool intake_paused_ = false;
  std::vector<std::pair<FeedSocket*, std::vector<Inbound>>> held_;
  std::vector<Alert> unsent_daemon_alerts_;  // feed-health alerts waiting for the store
  bool stopping_ = false;
  std::map<std::string, TimePoint> last_reject_log_;  // per source, for rate limiting
  std::map<std::string, int64_t> suppressed_rejects_;
  std::mt19937_64 rng_;
};

}  // namespace bw
