// Test harness: runs the real breachwatchd binary in a private directory with a
// generated config, plays feeds into it and talks to its control socket.
// Not thread-safe; one per test.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/settings.h"
#include "daemon/client_allowlist.h"
#include "tools/client.h"

namespace bw::testing {

// Polls `pred` every 20 ms until it holds or `timeout` passes; its last value.
// For waiting on the daemon (a separate process), never as a timing assertion.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(15000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

enum class Transport { kIpc, kTcp };

class DaemonProcess {
 public:
  explicit DaemonProcess(Transport transport = Transport::kIpc,
                         std::vector<std::string> feeds = {"orders", "tag", "custody", "check"});
  ~DaemonProcess();

  // The settings the daemon will run with, rendered to its config file by
  // RenderConfig (config/settings.h) in WriteConfig().  The harness fills in the
  // store, the London zones, the alert and control endpoints and one [[feeds]]
  // table per feed; a test changes any setting here before Start(), e.g.
  // `d.config().intake.drain_budget = 64` or `d.feed_config("check").silent_after_s = 1`.
  Config& config() { return config_; }
  // The [[feeds]] table of `feed` (one of the feeds given at construction).
  FeedConfig& feed_config(const std::string& feed);
  // Gives `feed` a replay endpoint (written into the config); returns it.
  std::string EnableReplay(const std::string& feed);
  // Sets an environment variable for the daemon (e.g. BREACHWATCH_FAULT_FILE).
  void SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }

  // security.mode "curve" with real keys (zmq_curve_keypair): a server key, an administrator
  // client ("ADMIN-TEST", used by Call/Subscribe/readiness) and one feed key allowed every
  // configured feed (used by Publish).  Call before Start().
  void EnableCurve();
  // Adds an allow-listed client and rewrites the clients file, each entry rendered by
  // RenderClientEntry (SIGHUP to apply while running).  `feeds` for role feed,
  // `control_ids` for role control_room (empty: left out of the entry).
  CurveClientKeys AddClient(const std::string& identity, ClientRole role,
                            std::vector<std::string> feeds = {},
                            std::vector<std::string> control_ids = {});
  // Removes every key of `identity` from the clients file (SIGHUP to apply).
  void RemoveClient(const std::string& identity);
  // A fresh key pair that is not allow-listed, with the right server key.
  CurveClientKeys UnknownClient() const;
  const CurveClientKeys& admin_keys() const { return admin_keys_; }
  const std::string& server_public_key() const { return server_keys_.public_key; }
  // Uses `keys` for this feed's PUB (default: the all-feeds key).  Before its first Publish.
  void SetFeedKeys(const std::string& feed, CurveClientKeys keys) { feed_keys_[feed] = keys; }
  std::string WriteConfig();
  // Starts breachwatchd and waits until it answers `status`.  False on failure.
  bool Start();
  // Starts breachwatchd without waiting (a PostgreSQL standby serves only status until it takes
  // over: docs/ha.md).  False when it cannot be spawned.
  bool Spawn();
  // Waits until the spawned daemon answers `status` as a serving node (single or active, not a
  // warm standby); false when it exited or `timeout` passed.
  bool AwaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the daemon to exit by itself; its exit status, or -1 after `timeout`.
  int AwaitExit(std::chrono::milliseconds timeout);
  // Runs on the PostgreSQL store at `conninfo` as node `node_name` (active/standby, docs/ha.md).
  void UsePostgres(const std::string& conninfo, const std::string& node_name) {
    config_.store_backend = "postgresql";
    config_.store_postgresql_conninfo = conninfo;
    config_.store_node_name = node_name;
  }
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();
  // SIGKILL and reap.
  void Kill9();
  bool running() const { return pid_ > 0; }
  // The daemon's process id (-1 when not running), e.g. for prlimit or /proc/<pid>/status.
  pid_t pid() const { return pid_; }
  // Sends a signal (e.g. SIGHUP) to the daemon.
  void Signal(int signo);
  const std::string& config_path() const { return config_path_; }
  std::string log() const;

  // Publishes on a feed (binds its PUB); waits for the daemon's subscription first.
  void Publish(const std::string& feed, const std::string& payload);
  void PublishFrames(const std::string& feed, const std::vector<std::string>& frames);
  // After a restart: waits until the new daemon has subscribed to `feed` again,
  // so that the next Publish is not lost to the slow-joiner window.  False on
  // time-out.  (Before the first Publish, that Publish waits by itself.)
  bool AwaitFeedSubscription(const std::string& feed,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Control request with officer_id/reason filled in unless present.
  boost::json::object Call(const std::string& op, boost::json::object body = {});
  // The same as a given CURVE client (keys disabled: no security); `timeout_ms` for refusals.
  boost::json::object CallAs(const CurveClientKeys& keys, const std::string& op,
                             boost::json::object body = {}, int timeout_ms = 10000);
  // All stored alerts with seq > after (follows `more`).
  std::vector<boost::json::object> AlertsSince(int64_t after);

  // A SUB socket on the alert endpoint subscribed to `topic`.
  std::unique_ptr<zmq::socket_t> Subscribe(const std::string& topic);
  std::unique_ptr<zmq::socket_t> SubscribeAs(const CurveClientKeys& keys, const std::string& topic);

  // Rows of the store's audit log with this op (read-only SQLite), as "actor|subjects|outcome|
  // detail" strings.
  std::vector<std::string> AuditRows(const std::string& op) const;
  // Rows of a query on the daemon's SQLite store, opened read-only (the daemon may be running):
  // each column as text ("" for NULL), `params` bound as text to ?1, ?2, ...
  std::vector<std::vector<std::string>> StoreRows(const std::string& sql,
                                                  const std::vector<std::string>& params = {}) const;
  // The dead-letter store: one row per rejected inbound message, oldest first.
  struct DeadLetter {
    std::string channel;
    std::string reason;
    std::string detail;
    int64_t payload_bytes = 0;
  };
  std::vector<DeadLetter> DeadLetters() const;
  // The next two-frame message (an alert on a SUB, a reply on a DEALER) within `timeout`, its
  // second frame as a JSON object; nullopt when none came or it is not one.
  static std::optional<boost::json::object> Receive(zmq::socket_t& sub,
                                                    std::chrono::milliseconds timeout);

  const std::string& dir() const { return dir_; }
  const std::string& alerts_endpoint() const { return alerts_endpoint_; }
  const std::string& control_endpoint() const { return control_endpoint_; }
  zmq::context_t& context() { return ctx_; }

 private:
  std::string Endpoint(const std::string& name);
  zmq::socket_t& FeedSocket(const std::string& feed);

  Transport transport_;
  std::vector<std::string> feed_names_;
  std::string dir_;
  std::string config_path_;
  Config config_;
  std::string alerts_endpoint_;
  std::string control_endpoint_;
  std::map<std::string, std::string> feed_endpoints_;
  std::map<std::string, std::string> env_;
  std::map<std::string, std::unique_ptr<zmq::socket_t>> feed_sockets_;
  void WriteClients();
  bool curve_ = false;
  CurveClientKeys server_keys_;  // public_key/secret_key = the server's pair
  CurveClientKeys admin_keys_;
  CurveClientKeys feed_all_keys_;
  std::map<std::string, CurveClientKeys> feed_keys_;
  std::vector<ClientEntry> clients_;
  zmq::context_t ctx_{1};
  pid_t pid_ = -1;
};

// The feed side of a replay endpoint: a ROUTER on its own thread answering
// {"op":"replay","from_seq":N} with the stored events from N on (at most 1000).
class ReplayServer {
 public:
  ReplayServer(zmq::context_t& ctx, const std::string& endpoint);
  ~ReplayServer();
  void Store(int64_t seq, const std::string& event);
  int requests() const { return requests_; }

 private:
  void Serve();
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::pair<int64_t, std::string>> events_;
};

}  // namespace bw::testing
