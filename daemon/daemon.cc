#include "daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "daemon/access_policy.h"
#include "daemon/fault_injecting_store.h"
#include "daemon/pg_leadership.h"
#include "daemon/pg_store.h"
#include "daemon/standby.h"
#include "daemon/synchronized_store.h"

#ifndef BREACHWATCH_VERSION
#define BREACHWATCH_VERSION "0.0.0"
#endif

namespace bw {
namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(500);

std::string JoinCodes(const std::vector<std::string>& codes) {
  std::string list;
  for (const auto& c : codes) list += (list.empty() ? "" : ", ") + c;
  return list;
}
}  // namespace

Daemon::Daemon(Config config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      signals_(io_),
      watchdog_timer_(io_),
      tick_timer_(io_),
      zmq_(1),
      security_(io_, zmq_, clock_, config_.security) {}

Daemon::~Daemon() = default;

Status Daemon::OpenStore() {
  std::string path;
  if (config_.store_backend == "postgresql") {
    path = "postgresql";  // the conninfo may hold secrets: not logged
    auto store = PgStore::Open(config_.store_postgresql_conninfo);
    if (!store.ok()) return Status::IoError("postgresql store: " + store.status().message());
    pg_store_ = store->get();
    store_ = std::move(*store);
  } else {
    path = ResolveStorePath(config_.store_path);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    auto store = OpenSqliteStore(path);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
  }
  if (const char* faults = std::getenv("BREACHWATCH_FAULT_FILE"); faults && *faults) {
    spdlog::warn("TEST SEAM: storage faults injected from {}", faults);
    store_ = std::make_unique<FaultInjectingStore>(std::move(store_), faults);
  }
  // Two threads use the store: the committer's transactions and the loop's reads.
  auto synchronized = std::make_unique<SynchronizedStore>(std::move(store_));
  synchronized_store_ = synchronized.get();
  store_ = std::move(synchronized);
  spdlog::info("store {}", path);
  return Status::Ok();
}

Status Daemon::PrepareLeadership() {
  if (pg_store_ == nullptr) return Status::Ok();
  if (config_.store_node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    config_.store_node_name = host;
  }
  leadership_ = std::make_unique<PgLeadership>(*pg_store_, config_.store_node_name);
  // Until it takes over (a new term), this node writes nothing (docs/ha.md).
  pg_store_->FenceOut();
  return Status::Ok();
}

Status Daemon::BecomeActive() {
  if (Status s = standby_->TakeOver(); !s.ok()) return s;
  if (Status s = journal_->LoadSeq(); !s.ok()) return s;
  // What the active node accepted since this one started may use zone codes it lacks.
  if (auto missing = engine_->MissingZoneCodes(engine_->zones()); !missing.empty()) {
    return Status::BadInput("zones",
                            "stored instruments use zone codes that no configured zone set "
                            "defines: " + JoinCodes(missing));
  }
  pipeline_->set_notice_recipients(engine_->control_rooms());
  spdlog::info("engine holds {} instruments; next alert seq {}", engine_->instrument_count(),
               journal_->last_alert_seq() + 1);
  return ConnectFeeds();
}

void Daemon::ArmStandby() {
  tick_timer_.expires_after(WarmStandby::kPollInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    // What every tick does, whatever else fails (RunTick): the ZAP watchdog and the caps on the
    // bound sockets' connections — a standby's sockets are bound too.
    const auto now = std::chrono::steady_clock::now();
    if (now - standby_ticked_at_ >= kTickInterval) {
      standby_ticked_at_ = now;
      security_.Tick();
      connection_guard_->Check();
    }
    if (!standby_->Poll()) {
      ArmStandby();
      return;
    }
    if (Status s = BecomeActive(); !s.ok()) {
      spdlog::critical("took the leadership but cannot serve: {}; stopping", s.ToString());
      exit_code_ = 1;
      Stop();
      return;
    }
    BeginServing();
  });
}

void Daemon::CheckLeadership() {
  if (!leadership_ || stopping_) return;
  auto still = [&] {
    auto exclusive = synchronized_store_->Exclusive();  // the store's connection, between commits
    return leadership_->StillActive();
  }();
  if (!still.ok()) {
    spdlog::error("leadership check failed: {}", still.status().ToString());
    return;  // not known either way; the store's fencing keeps commits safe meanwhile
  }
  if (*still) return;
  auto view = [&] {
    auto exclusive = synchronized_store_->Exclusive();  // the store's connection, between commits
    return leadership_->Current();
  }();
  spdlog::critical(
      "lost leadership: {} is active now (term {}); stopping (committing and publishing "
      "nothing more)",
      view.ok() ? view->holder : "another node (or none: the session was lost)",
      view.ok() ? view->term : 0);
  exit_code_ = kExitLostLeadership;
  Stop();
}

Status Daemon::Start() {
  started_at_ = clock_.Now();
  ConnectionGuard::RaiseDescriptorLimit();
  auto zones = LoadZones(config_);
  if (!zones.ok()) return zones.status();
  spdlog::info("loaded {} zones from {} zone set(s)", (*zones)->size(), config_.zones.size());
  for (const auto& [code, why] : (*zones)->skipped()) spdlog::warn("zone {} skipped: {}", code, why);
  if (Status s = OpenStore(); !s.ok()) return s;
  if (Status s = PrepareLeadership(); !s.ok()) return s;

  engine_ = std::make_unique<Engine>(clock_, *zones, config_.policy);
  journal_ = std::make_unique<StoreJournal>(*store_, config_.policy);
  matcher_ = std::make_unique<Matcher>(*engine_, *journal_, clock_, config_.intake_max_message_bytes);
  snapshots_ = std::make_unique<EngineSnapshots>(
      config_.store_snapshot_every_s <= 0   ? std::string()
      : config_.store_snapshot_path.empty() ? ResolveStorePath(config_.store_path) + ".snapshot"
                                            : ResolveStorePath(config_.store_snapshot_path),
      std::chrono::seconds(config_.store_snapshot_every_s));
  matcher_->set_snapshots(snapshots_.get());
  if (Status s = matcher_->Restore(); !s.ok()) return s;
  if (Status s = journal_->LoadSeq(); !s.ok()) return s;
  if (auto missing = engine_->MissingZoneCodes(**zones); !missing.empty()) {
    return Status::BadInput("zones",
                            "stored instruments use zone codes that no configured zone set "
                            "defines: " + JoinCodes(missing));
  }
  spdlog::info("restored {} instruments; next alert seq {}", engine_->instrument_count(),
               journal_->last_alert_seq() + 1);

  publisher_ = std::make_unique<Publisher>(io_, zmq_);
  // The journal commits on the committer's thread from here on (daemon/pipeline.h).
  pipeline_ = std::make_unique<Pipeline>(*matcher_, *journal_, *publisher_, clock_, io_);
  pipeline_->set_notice_recipients(engine_->control_rooms());
  intake_ = std::make_unique<Intake>(io_, zmq_, clock_, *engine_, *pipeline_, config_);
  ticks_ = std::make_unique<Ticks>(*store_, *matcher_, *pipeline_, *engine_, config_);
  control_ = std::make_unique<ControlServer>(
      io_, zmq_,
      ControlServer::Stages{clock_, config_, *engine_, *store_, *journal_, *pipeline_, *intake_,
                            security_, [this] { return observer_->StatusJson(); }});
  observer_ = std::make_unique<Observer>(config_, clock_, started_at_, *intake_, *pipeline_,
                                         *journal_, *publisher_, *store_, *engine_, security_,
                                         control_->requests());
  if (leadership_) {
    standby_ = std::make_unique<WarmStandby>(*leadership_, *matcher_, *store_, *journal_, clock_,
                                             config_.store_node_name);
    observer_->set_ha(standby_.get());
    control_->set_standby_refusal([this] { return standby_->RefusalNamingActive(); });
  }
  auto audit = [this](const AuditRecord& a) {
    if (standby_ && standby_->is_standby()) {  // a standby writes nothing (docs/ha.md)
      spdlog::info("standby: audit row not stored: {} ({}): {}", a.op, a.outcome, a.detail);
      return;
    }
    JournalEntry entry;
    entry.at = a.at;
    entry.audits.push_back(a);
    auto committed = pipeline_->CommitNow(std::move(entry));
    if (!committed.ok()) {
      spdlog::error("audit write failed for {} ({}): {}", a.op, a.detail,
                    committed.status().ToString());
    }
  };
  // Before anything is bound or connected.
  if (Status s = security_.Start(audit, [this] { CloseEndpoints(); }); !s.ok()) return s;
  // A standby binds control, alerts and metrics too (it answers status and refuses the rest
  // naming the active node; it publishes nothing), so that clients can connect to every node.
  if (Status s = BindSockets(); !s.ok()) return s;
  if (!config_.metrics_endpoint.empty()) {
    metrics_ = std::make_unique<MetricsServer>(io_, [this] { return observer_->Metrics(); });
    if (Status s = metrics_->Listen(config_.metrics_endpoint); !s.ok()) return s;
    spdlog::info("metrics on http://{}/metrics", config_.metrics_endpoint.substr(6));
  }
  spdlog::info("alerts on {}, control on {}, {} feed(s)", config_.alerts_endpoint,
               config_.control_endpoint, config_.feeds.size());
  // SQLite: active at once.  PostgreSQL: active when the leadership is free, else a standby
  // that follows the journal until it is (Run, ArmStandby).
  if (standby_ && !standby_->Poll()) return Status::Ok();
  return standby_ ? BecomeActive() : ConnectFeeds();
}

Status Daemon::BindSockets() {
  auto secure = [this](const std::string& domain) {
    return [this, domain](zmq::socket_t& socket) { security_.Secure(socket, domain); };
  };
  try {
    Publisher::Options alerts{config_.alerts_endpoint, static_cast<int>(config_.alerts_send_hwm),
                              security_.curve(), config_.alerts_backlog_max,
                              std::chrono::seconds(config_.alerts_stuck_after_s)};
    Status s = publisher_->Bind(alerts, secure(std::string(kAlertsDomain)),
                                [this](zmq::message_t& m, const std::string& topic) {
                                  return security_.AdmitSubscription(m, topic);
                                });
    if (s.ok()) s = control_->Bind(secure(std::string(kControlDomain)));
    if (!s.ok()) return s;
    connection_guard_ = std::make_unique<ConnectionGuard>(config_.limits_max_connections_per_socket);
    connection_guard_->Watch("control", control_->socket());
    connection_guard_->Watch("alerts", publisher_->socket());
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot set up sockets: ") + e.what());
  }
}

Status Daemon::ConnectFeeds() {
  try {
    auto seqs = store_->LastSeqs();
    if (!seqs.ok()) return seqs.status();
    Status s = intake_->Connect(
        [this](zmq::socket_t& socket, const std::string& domain) {
          security_.Secure(socket, domain);
        },
        *seqs);
    if (s.ok()) serving_ = true;
    return s;
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot connect the feeds: ") + e.what());
  }
}

void Daemon::BeginServing() {
  intake_->Start();
  ArmTick();
  sd_notify(0, "READY=1\nSTATUS=serving");
  spdlog::info("breachwatchd {} ready", BREACHWATCH_VERSION);
}

void Daemon::Run() {
  control_->Start();
  publisher_->Start();
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  WaitSignal();
  ArmWatchdog();
  if (serving_) {
    BeginServing();
  } else {
    // A warm standby is healthy: ready, and pinging the watchdog, while it waits.
    sd_notify(0, "READY=1\nSTATUS=standby: following the journal, waiting to take over");
    ArmStandby();
  }
  io_.run();
  // Batches still in flight complete: their alerts are published, intake counts them.
  pipeline_->Flush();
  // Refusals over the rate limit not yet audited (a standby writes nothing: they stay unwritten).
  if (serving_) control_->Tick(clock_.Now(), true);
  // Close sockets after the loop, the ZAP endpoint last.
  intake_->Close();
  control_->Close();
  publisher_->Close();  // linger lets queued alerts flush
  security_.Shutdown();
  spdlog::info("breachwatchd stopped");
}

void Daemon::Stop() {
  if (stopping_) return;
  stopping_ = true;
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  spdlog::info("stopping: finishing in-flight work");
  // Cancel outstanding work; handlers already queued run to completion.
  control_->Cancel();
  publisher_->Cancel();
  security_.Cancel();
  if (metrics_) metrics_->Stop();
  intake_->Cancel();
  boost::system::error_code ec;
  signals_.cancel(ec);
  signals_.clear(ec);
  watchdog_timer_.cancel();
  tick_timer_.cancel();
}

void Daemon::WaitSignal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec || stopping_) return;
    if (signo == SIGHUP) {
      Reload();
      WaitSignal();
      return;
    }
    spdlog::info("signal {}: graceful stop", signo);
    Stop();
  });
}

void Daemon::ArmWatchdog() {
  uint64_t usec = 0;
  if (watchdog_interval_.count() == 0) {
    if (sd_watchdog_enabled(0, &usec) <= 0) return;
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
  }
  // Input waiting longer than one period (at least four ticks, the retry period of a held batch)
  // with nothing handled: the matching path is stalled.
  if (!matching_watchdog_) {
    matching_watchdog_.emplace(std::max<std::chrono::steady_clock::duration>(
        watchdog_interval_, 4 * kTickInterval));
  }
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const bool matching = matching_watchdog_->MayPing(
        std::chrono::steady_clock::now(), pipeline_->last_progress(), intake_->InputWaiting());
    // Not serving (the ZAP handler failed), or breaches not being handled: no ping, and systemd's
    // watchdog restarts us (docs/reliability.md).
    if (security_.serving() && matching) {
      sd_notify(0, "WATCHDOG=1");
    } else if (!matching) {
      spdlog::critical(
          "watchdog: input has waited {} s with nothing handled; not pinging systemd",
          std::chrono::duration_cast<std::chrono::seconds>(matching_watchdog_->stalled_for())
              .count());
    }
    ArmWatchdog();
  });
}

void Daemon::ArmTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    RunTick();
    ArmTick();
  });
}

void Daemon::RunTick() {
  CheckLeadership();
  if (stopping_) return;
  security_.Tick();  // the ZAP watchdog first: it must run even while the store is failing
  connection_guard_->Check();  // descriptors for control and feeds, whatever else fails
  // While the store refuses, held batches go first and nothing else is written.
  if (!pipeline_->Recover() || !intake_->RetryHeld()) return;
  const TimePoint now = clock_.Now();
  // Nothing is held or in flight (Recover flushed the committer and RetryHeld commits
  // synchronously): the engine's state is the journal's, as a snapshot must be, and the position
  // it records is committed.
  if (pipeline_->in_flight() == 0) snapshots_->MaybeWrite(*engine_, *journal_, now);
  ticks_->PurgeIfDue(now);
  intake_->Tick(now);
  control_->Tick(now);
  ticks_->Escalate(now);
}

void Daemon::CloseEndpoints() {
  if (stopping_) return;
  auto close = [](zmq::socket_t* s, bool bound, const std::string& endpoint) {
    if (s == nullptr) return;
    try {
      if (bound) {
        s->unbind(s->get(zmq::sockopt::last_endpoint));
      } else {
        s->disconnect(endpoint);
      }
    } catch (const zmq::error_t& e) {
      spdlog::critical("security: cannot close {}: {}", endpoint, e.what());
    }
  };
  close(control_->socket(), true, config_.control_endpoint);
  close(publisher_->socket(), true, config_.alerts_endpoint);
  intake_->Disconnect([&](zmq::socket_t* s, const std::string& endpoint) {
    close(s, false, endpoint);
  });
}

void Daemon::Reload() {
  // Revocation must not wait on an unrelated config error.  A revoked key keeps nothing open:
  // every alert subscriber and feed connection is cut and authenticates again (the control
  // socket checks the allow-list on every request).
  if (security_.Reload()) {
    publisher_->DropConnections();
    intake_->ReconnectAll();
  }
  spdlog::info("SIGHUP: reloading zones and policy from {}",
               config_.config_path.empty() ? "<embedded defaults>" : config_.config_path);
  Result<Config> next = config_.config_path.empty() ? ParseConfig("", "", "<defaults>")
                                                    : LoadConfigFile(config_.config_path);
  if (!next.ok()) {
    spdlog::error("reload refused, keeping the running configuration: {}",
                  next.status().ToString());
    return;
  }
  auto zones = LoadZones(*next);
  if (!zones.ok()) {
    spdlog::error("reload refused, keeping the running zones: {}", zones.status().ToString());
    return;
  }
  if (auto missing = engine_->MissingZoneCodes(**zones); !missing.empty()) {
    spdlog::error("reload refused: instruments use zone codes the new zone sets lack: {}",
                  JoinCodes(missing));
    return;
  }
  // Built aside, then swapped whole.  The committer reads the policy at each commit (first
  // escalation deadlines): nothing may be committing while it changes.
  pipeline_->Flush();
  engine_->SetZones(*zones);
  engine_->SetPolicy(next->policy);
  config_.zones = next->zones;
  config_.policy = next->policy;
  if (next->feeds.size() != config_.feeds.size() ||
      next->alerts_endpoint != config_.alerts_endpoint ||
      next->control_endpoint != config_.control_endpoint ||
      next->store_path != config_.store_path || next->store_backend != config_.store_backend ||
      next->store_postgresql_conninfo != config_.store_postgresql_conninfo) {
    spdlog::warn("reload: endpoint, feed and store changes take effect only after a restart");
  }
  spdlog::info("reload done: {} zones", (*zones)->size());
}

}  // namespace bw
