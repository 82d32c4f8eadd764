// Daemon: breachwatchd's wiring.  It builds the stages (docs/architecture.md) and runs them on one
// Boost.Asio io_context:
//
//   Intake ─▶ Matcher ─▶ Journal ─▶ Publisher        (driven by Pipeline)
//   ControlServer (queries; ack/resolve and event.submit through the journal / pipeline)
//   Ticks (escalation, engine rules, retention) and Intake::Tick (feed health), every 500 ms
//   Observer (status, metrics), Security (CURVE, ZAP, access checks)
//
// and owns what is the process's: start, run, stop (by cancelling), signals (SIGTERM/SIGINT stop
// gracefully, SIGHUP reloads zones, policy and the client allow-list), the systemd watchdog (pinged
// only while the matching path is alive: daemon/matching_watchdog.h).
//
// On PostgreSQL (docs/ha.md) a node that does not hold the leadership is a warm standby
// (daemon/standby.h): it binds control, alerts and metrics, answers `status` and refuses the
// rest naming the active node, follows the journal into its engine every 200 ms, and connects
// the feeds and runs the ticks only once it has taken over.
//
// Thread-safety: everything runs on the thread that calls Run(), except the ZAP handler's thread
// (daemon/security.h says how it hands over).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>

#include <memory>
#include <optional>

#include "config/settings.h"
#include "daemon/connection_guard.h"
#include "daemon/control/control_server.h"
#include "daemon/intake.h"
#include "daemon/journal.h"
#include "daemon/leadership.h"
#include "daemon/matcher.h"
#include "daemon/matching_watchdog.h"
#include "daemon/metrics_server.h"
#include "daemon/observe.h"
#include "daemon/pipeline.h"
#include "daemon/publisher.h"
#include "daemon/security.h"
#include "daemon/snapshot.h"
#include "daemon/standby.h"
#include "daemon/startup.h"
#include "daemon/store.h"
#include "daemon/ticks.h"
#include "handlers/engine/engine.h"

namespace bw {

class PgStore;
class SynchronizedStore;

class Daemon {
 public:
  Daemon(Config config, const Clock& clock);
  ~Daemon();

  // Opens the store, loads zones, rebuilds state, binds and connects sockets.
  // Returns a non-ok status (never throws) when the daemon cannot serve.
  [[nodiscard]] Status Start();
  // Runs until stopped by a signal or Stop().  Returns when all work is finished.
  void Run();
  // Graceful stop: cancels pending work so Run() returns.
  void Stop();
  // The process's exit status after Run(): 0, or kExitLostLeadership when a PostgreSQL-backed
  // active daemon stopped because another took over or its session was lost (docs/ha.md).
  int exit_code() const { return exit_code_; }
  static constexpr int kExitLostLeadership = 75;  // EX_TEMPFAIL: systemd restarts it as standby

 private:
  Status OpenStore();
  // PostgreSQL: the leadership, and the store fenced out until this node takes over.
  Status PrepareLeadership();
  // PostgreSQL, a standby every WarmStandby::kPollInterval: follows the journal and takes over
  // once the leadership is free (docs/ha.md).
  void ArmStandby();
  // PostgreSQL, the leadership just taken: the tail of the journal, then the feeds.
  Status BecomeActive();
  // Connects the feeds (the active node only); then this node serves.
  Status ConnectFeeds();
  // Starts intake and the ticks, and says ready.
  void BeginServing();
  // PostgreSQL: stops the daemon (fail-stop) once it is no longer the active node.
  void CheckLeadership();
  Status BindSockets();
  void Reload();
  void WaitSignal();
  void ArmWatchdog();
  void ArmTick();
  void RunTick();
  // Closes every server endpoint (the ZAP handler failed): fail closed.
  void CloseEndpoints();

  Config config_;
  const Clock& clock_;
  TimePoint started_at_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  std::optional<MatchingWatchdog> matching_watchdog_;  // once the watchdog is armed
  zmq::context_t zmq_;
  // Declared before every socket: destroyed after them, so the ZAP endpoint stays bound while any
  // server socket is open (fail closed).
  Security security_;
  std::unique_ptr<Store> store_;
  PgStore* pg_store_ = nullptr;  // the PostgreSQL store inside store_, when that is the backend
  SynchronizedStore* synchronized_store_ = nullptr;  // store_ itself: shared by loop and committer
  std::unique_ptr<Leadership> leadership_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineSnapshots> snapshots_;  // [store] snapshot_every_s
  std::unique_ptr<StoreJournal> journal_;
  std::unique_ptr<Matcher> matcher_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Ticks> ticks_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<ConnectionGuard> connection_guard_;  // caps the bound sockets' connections
  std::unique_ptr<WarmStandby> standby_;  // PostgreSQL: active/standby (docs/ha.md)
  bool serving_ = false;                   // the feeds are connected: this node is active
  std::chrono::steady_clock::time_point standby_ticked_at_{};  // ArmStandby's RunTick share
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace bw
