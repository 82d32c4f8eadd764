#include "daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/access_policy.h"
#include "daemon/fault_injecting_store.h"
#include "handlers/alerts/escalation.h"
#include "handlers/base/json_util.h"
#include "handlers/base/time_util.h"

#ifndef BREACHWATCH_VERSION
#define BREACHWATCH_VERSION "0.0.0"
#endif

namespace bw {
namespace {

constexpr int kMaxAlertsPerReply = 1000;
// Inbound rows of this channel record a run of the engine's tick rules that
// changed state; the payload is the time it ran at.
constexpr const char* kTickChannel = "tick";
constexpr auto kTickInterval = std::chrono::milliseconds(500);
const char* const kBreachKinds[] = {"exclusion_zone_breach", "zone_crossed", "address_breach",
                                    "no_contact_breach", "curfew_breach"};

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *ok = false;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return ss.str();
}

std::string ErrorReply(ErrorCode code, const std::string& message) {
  boost::json::object o;
  o["ok"] = false;
  o["error"] = {{"code", ErrorCodeName(code)}, {"message", message}};
  return boost::json::serialize(o);
}

std::string ErrorReply(const Status& s) {
  ErrorCode code = s.code();
  if (code == ErrorCode::kIoError || code == ErrorCode::kInternal) code = ErrorCode::kUnavailable;
  return ErrorReply(code, s.ToString());
}

// Crockford base32 ULID: 48-bit millisecond time + 80 random bits.
std::string MakeUlid(TimePoint now, std::mt19937_64& rng) {
  static const char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t ms = static_cast<uint64_t>(now.time_since_epoch().count());
  uint64_t r1 = rng(), r2 = rng();
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  // 80 random bits: 16 chars of 5 bits.
  for (int i = 0; i < 16; ++i) {
    uint64_t& src = i < 8 ? r1 : r2;
    out[10 + i] = kAlphabet[src & 31];
    src >>= 5;
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<const ZoneIndex>> LoadZones(const Config& config) {
  std::vector<ZoneSetSource> sources;
  for (size_t i = 0; i < config.zones.size(); ++i) {
    const auto& z = config.zones[i];
    bool ok = true;
    std::string text = ReadFile(z.file, &ok);
    if (!ok) {
      return Status::BadInput("zones[" + std::to_string(i) + "].file", "cannot read " + z.file);
    }
    ZoneSetSource src;
    src.name = std::filesystem::path(z.file).filename().string();
    src.geojson_text = std::move(text);
    src.code_property = z.code_property;
    src.name_property = z.name_property;
    src.skip_invalid = z.skip_invalid;
    sources.push_back(std::move(src));
  }
  return ZoneIndex::Build(sources);
}

std::string ResolveStorePath(const std::string& configured) {
  std::filesystem::path p(configured);
  if (p.is_absolute()) return p.string();
  const char* state = std::getenv("STATE_DIRECTORY");
  if (state != nullptr && *state != '\0') {
    // systemd may pass several, colon-separated: use the first.
    std::string first(state);
    first = first.substr(0, first.find(':'));
    return (std::filesystem::path(first) / p).string();
  }
  return (std::filesystem::current_path() / p).string();
}

Daemon::Daemon(Config config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      signals_(io_),
      watchdog_timer_(io_),
      tick_timer_(io_),
      zmq_(1),
      rng_(std::random_device{}()) {}

Daemon::~Daemon() {
  // Watchers release libzmq's fds before the sockets close.
  control_watcher_.reset();
  alerts_watcher_.reset();
  for (auto& f : feeds_) {
    f->watcher.reset();
    f->replay_watcher.reset();
  }
  for (auto& m : monitors_) m->watcher.reset();
}

Status Daemon::Start() {
  started_at_ = clock_.Now();
  auto zones = LoadZones(config_);
  if (!zones.ok()) return zones.status();
  zones_ = *zones;
  spdlog::info("loaded {} zones from {} zone set(s)", zones_->size(), config_.zones.size());
  for (const auto& [code, why] : zones_->skipped()) {
    spdlog::warn("zone {} skipped: {}", code, why);
  }

  std::string path = ResolveStorePath(config_.store_path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto store = OpenSqliteStore(path);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  if (const char* faults = std::getenv("BREACHWATCH_FAULT_FILE"); faults && *faults) {
    spdlog::warn("TEST SEAM: storage faults injected from {}", faults);
    store_ = std::make_unique<FaultInjectingStore>(std::move(store_), faults);
  }
  spdlog::info("store {}", path);

  engine_ = std::make_unique<Engine>(clock_, zones_, config_.policy);
  Status s = RecoverAfterFailedCommit();  // same path: rebuild state from the store
  if (!s.ok()) return s;
  auto missing = engine_->MissingZoneCodes(*zones_);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::BadInput("zones",
                            "stored instruments use zone codes that no configured zone "
                            "set defines: " +
                                list);
  }
  spdlog::info("restored {} instruments; next alert seq {}", engine_->instrument_count(),
               next_alert_seq_);

  Status security = StartSecurity();  // before anything is bound or connected
  if (!security.ok()) return security;
  try {
    // XPUB with NODROP: a subscriber past its high-water mark makes send fail
    // with EAGAIN instead of a silent drop, so drops are counted (the alert
    // stays in the store for alerts.since); Publish then delivers to the others.
    alerts_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::xpub);
    alerts_->set(zmq::sockopt::linger, 2000);
    alerts_->set(zmq::sockopt::sndhwm, static_cast<int>(config_.alerts_send_hwm));
    alerts_->set(zmq::sockopt::xpub_nodrop, true);
    // CURVE: subscriptions are applied only when the subscriber's identity may see the topic.
    if (curve()) alerts_->set(zmq::sockopt::xpub_manual, true);
    SecureSocket(*alerts_, std::string(kAlertsDomain));
    alerts_->bind(config_.alerts_endpoint);
    alerts_watcher_ = std::make_unique<ZmqWatcher>(
        io_, *alerts_, 256, [this](size_t budget) { return DrainAlertSubscriptions(budget); });

    control_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::router);
    control_->set(zmq::sockopt::linger, 1000);
    control_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(std::max<int64_t>(
                                                config_.intake_max_message_bytes * 4, 1 << 20)));
    control_->set(zmq::sockopt::router_mandatory, false);
    SecureSocket(*control_, std::string(kControlDomain));
    control_->bind(config_.control_endpoint);
    control_watcher_ = std::make_unique<ZmqWatcher>(
        io_, *control_, static_cast<size_t>(config_.intake_drain_budget),
        [this](size_t budget) { return DrainControl(budget); });

    for (const auto& fc : config_.feeds) {
      auto feed = std::make_unique<FeedSocket>();
      feed->config = fc;
      feed->socket = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::sub);
      feed->socket->set(zmq::sockopt::linger, 0);
      // Hard cap well above the soft limit so oversize messages reach the dead-letter store.
      feed->socket->set(
          zmq::sockopt::maxmsgsize,
          static_cast<int64_t>(std::max<int64_t>(config_.intake_max_message_bytes * 16, 16 << 20)));
      feed->socket->set(zmq::sockopt::rcvhwm, 0);  // never drop inbound to keep up
      feed->socket->set(zmq::sockopt::heartbeat_ivl, 5000);
      feed->socket->set(zmq::sockopt::heartbeat_timeout, 15000);
      feed->socket->set(zmq::sockopt::subscribe, fc.name);
      SecureSocket(*feed->socket, FeedDomain(fc.name));
      feed->socket->connect(fc.endpoint);
      FeedSocket* raw = feed.get();
      feed->watcher = std::make_unique<ZmqWatcher>(
          io_, *feed->socket, static_cast<size_t>(config_.intake_drain_budget),
          [this, raw](size_t budget) { return DrainFeed(*raw, budget); });
      if (!fc.replay.empty()) {
        feed->replay = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::dealer);
        feed->replay->set(zmq::sockopt::linger, 0);
        feed->replay->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(256) << 20);
        SecureSocket(*feed->replay, ReplayDomain(fc.name));
        feed->replay->connect(fc.replay);
        feed->replay_watcher = std::make_unique<ZmqWatcher>(
            io_, *feed->replay, 4,
            [this, raw](size_t budget) { return DrainReplay(*raw, budget); });
      }
      health_.AddFeed(fc.name, fc.silent_after_s, started_at_);
      feeds_.push_back(std::move(feed));
    }
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot set up sockets: ") + e.what());
  }
  auto seqs = store_->LastSeqs();
  if (!seqs.ok()) return seqs.status();
  for (const auto& [channel, source, seq] : *seqs) health_.SetLastSeq(channel, source, seq);
  if (!config_.metrics_endpoint.empty()) {
    metrics_ = std::make_unique<MetricsServer>(io_, [this] { return RenderMetrics(); });
    Status ms = metrics_->Listen(config_.metrics_endpoint);
    if (!ms.ok()) return ms;
    spdlog::info("metrics on http://{}/metrics", config_.metrics_endpoint.substr(6));
  }
  spdlog::info("alerts on {}, control on {}, {} feed(s)", config_.alerts_endpoint,
               config_.control_endpoint, feeds_.size());
  return Status::Ok();
}

void Daemon::Run() {
  control_watcher_->Start();
  alerts_watcher_->Start();
  for (auto& f : feeds_) {
    f->watcher->Start();
    if (!f->replay) continue;
    f->replay_watcher->Start();
    // Catch up on what was published while we were down: subscribed first (above),
    // then ask from the last stored seq; what is already stored is discarded.
    f->catching_up = true;
    f->catch_up_deadline = clock_.Now() + std::chrono::seconds(config_.policy.gap_fill_s);
    for (const auto& [key, seq] : health_.last_seqs()) {
      if (key.first != f->config.name) continue;
      RequestReplay(*f, key.second, seq + 1);
      ++f->outstanding_catch_up;
    }
    if (f->outstanding_catch_up == 0) {
      RequestReplay(*f, "", 1);
      f->outstanding_catch_up = 1;
    }
  }
  ArmSignals();
  ArmWatchdog();
  ArmTick();
  sd_notify(0, "READY=1\nSTATUS=serving");
  spdlog::info("breachwatchd {} ready", BREACHWATCH_VERSION);
  io_.run();
  // Close sockets after the loop: watchers first (they hold libzmq's fds).
  control_watcher_.reset();
  alerts_watcher_.reset();
  for (auto& f : feeds_) {
    f->watcher.reset();
    f->replay_watcher.reset();
  }
  for (auto& f : feeds_) {
    f->socket->close();
    if (f->replay) f->replay->close();
  }
  control_->close();
  alerts_->close();  // linger lets queued alerts flush
  ShutdownSecurity();
  spdlog::info("breachwatchd stopped");
}

void Daemon::Stop() {
  if (stopping_) return;
  stopping_ = true;
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  spdlog::info("stopping: finishing in-flight work");
  // Cancel outstanding work; handlers already queued run to completion.
  control_watcher_->Cancel();
  alerts_watcher_->Cancel();
  for (auto& m : monitors_) m->watcher->Cancel();
  if (metrics_) metrics_->Stop();
  for (auto& f : feeds_) {
    f->watcher->Cancel();
    if (f->replay_watcher) f->replay_watcher->Cancel();
  }
  boost::system::error_code ec;
  signals_.cancel(ec);
  signals_.clear(ec);
  watchdog_timer_.cancel();
  tick_timer_.cancel();
}

void Daemon::ArmSignals() {
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  WaitSignal();
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
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    // Not serving (the ZAP handler failed): let systemd's watchdog restart us.
    if (serving_) sd_notify(0, "WATCHDOG=1");
    ArmWatchdog();
  });
}

void Daemon::Reload() {
  ReloadClients();  // revocation must not wait on an unrelated config error
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
  auto missing = engine_->MissingZoneCodes(**zones);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    spdlog::error("reload refused: instruments use zone codes the new zone sets lack: {}", list);
    return;
  }
  // Build aside, then swap whole.
  zones_ = *zones;
  engine_->SetZones(zones_);
  engine_->SetPolicy(next->policy);
  config_.zones = next->zones;
  config_.policy = next->policy;
  if (next->feeds.size() != config_.feeds.size() ||
      next->alerts_endpoint != config_.alerts_endpoint ||
      next->control_endpoint != config_.control_endpoint ||
      next->store_path != config_.store_path) {
    spdlog::warn("reload: endpoint, feed and store changes take effect only after a restart");
  }
  spdlog::info("reload done: {} zones", zones_->size());
}

std::string Daemon::NewAlertId() { return MakeUlid(clock_.Now(), rng_); }

Status Daemon::StoreAlert(Alert* a, TimePoint now) {
  a->seq = next_alert_seq_++;
  a->alert_id = NewAlertId();
  a->raised_at = now;
  std::optional<TimePoint> escalate_at;
  if (a->kind != AlertKind::kUnacknowledged) {
    if (auto step = NextEscalation(*a, "", 0, now, config_.policy)) escalate_at = step->due;
  }
  ++alerts_by_kind_[AlertKindName(a->kind)];
  return store_->InsertAlert(*a, escalate_at);
}

size_t Daemon::DrainAlertSubscriptions(size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    zmq::message_t m;
    if (!alerts_->recv(m, zmq::recv_flags::dontwait)) break;
    if (m.size() == 0) continue;
    const bool subscribe = m.data<char>()[0] == 1;
    const std::string topic(m.data<char>() + 1, m.size() - 1);
    if (curve()) ApplyAlertSubscription(m, subscribe, topic);  // XPUB_MANUAL
    subscribers_ += subscribe ? 1 : -1;
    spdlog::debug("alert subscription {} \"{}\"", subscribe ? "added" : "removed", topic);
  }
  return n;
}

void Daemon::ObserveCommit(std::chrono::steady_clock::duration d) {
  const double seconds = std::chrono::duration<double>(d).count();
  ++commit_count_;
  commit_seconds_sum_ += seconds;
  for (size_t i = 0; i < std::size(kCommitBuckets); ++i) {
    if (seconds <= kCommitBuckets[i]) ++commit_bucket_counts_[i];
  }
}

std::string Daemon::RenderMetrics() {
  std::string out;
  const TimePoint now = clock_.Now();
  auto line = [&](const std::string& name, const std::string& labels, double value) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " " + fmt::format("{}", value) + "\n";
  };
  auto help = [&](const char* name, const char* type, const char* text) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
  };
  help("breachwatch_feed_messages_total", "counter", "Messages received per feed.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_messages_total", "feed=\"" + f->config.name + "\"", f->received);
  help("breachwatch_feed_handled_total", "counter", "Messages handled per feed.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_handled_total", "feed=\"" + f->config.name + "\"", f->handled);
  help("breachwatch_feed_rejected_total", "counter", "Messages dead-lettered per feed.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_rejected_total", "feed=\"" + f->config.name + "\"", f->rejected);
  help("breachwatch_feed_duplicates_total", "counter", "Duplicate messages per feed.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_duplicates_total", "feed=\"" + f->config.name + "\"", f->duplicates);
  help("breachwatch_feed_gaps_total", "counter", "Sequence gaps detected per feed.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_gaps_total", "feed=\"" + f->config.name + "\"", f->gaps);
  help("breachwatch_feed_replayed_total", "counter", "Events received from replay endpoints.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_replayed_total", "feed=\"" + f->config.name + "\"", f->replayed);
  help("breachwatch_feed_last_seen_age_seconds", "gauge",
       "Seconds since the feed last sent anything.");
  for (const auto& f : feeds_) {
    auto heard = health_.LastHeard(f->config.name);
    line("breachwatch_feed_last_seen_age_seconds", "feed=\"" + f->config.name + "\"",
         heard ? std::chrono::duration<double>(now - *heard).count() : -1);
  }
  help("breachwatch_feed_silent", "gauge", "1 while the feed is silent.");
  for (const auto& f : feeds_)
    line("breachwatch_feed_silent", "feed=\"" + f->config.name + "\"",
         health_.IsSilent(f->config.name));
  {
    int64_t held = 0;
    for (const auto& [f, batch] : held_) held += static_cast<int64_t>(batch.size());
    for (const auto& f : feeds_) held += static_cast<int64_t>(f->held_live.size());
    help("breachwatch_held_messages", "gauge",
         "Messages read but waiting (store failing, or catch-up from a replay endpoint).");
    line("breachwatch_held_messages", "", static_cast<double>(held));
  }
  help("breachwatch_missing_seqs", "gauge", "Sequence numbers still missing in open gaps.");
  line("breachwatch_missing_seqs", "", static_cast<double>(health_.MissingCount()));
  help("breachwatch_alerts_total", "counter", "Alerts raised since start, by kind.");
  for (const auto& [kind, n] : alerts_by_kind_)
    line("breachwatch_alerts_total", "kind=\"" + kind + "\"", n);
  help("breachwatch_alert_deliveries_total", "counter", "Alert publications (one per recipient).");
  line("breachwatch_alert_deliveries_total", "", alerts_published_);
  help("breachwatch_alert_deliveries_dropped_total", "counter",
       "Publications refused by a subscriber's high-water mark (the alert stays retrievable with "
       "alerts.since).");
  line("breachwatch_alert_deliveries_dropped_total", "", publish_dropped_);
  help("breachwatch_alert_subscriptions", "gauge", "Current alert topic subscriptions.");
  line("breachwatch_alert_subscriptions", "", subscribers_);
  help("breachwatch_store_healthy", "gauge", "1 when the last store write succeeded.");
  line("breachwatch_store_healthy", "", store_healthy_);
  help("breachwatch_store_failures_total", "counter", "Failed store transactions.");
  line("breachwatch_store_failures_total", "", store_failures_);
  help("breachwatch_commit_seconds", "histogram", "Time to handle and commit one batch.");
  for (size_t i = 0; i < std::size(kCommitBuckets); ++i) {
    line("breachwatch_commit_seconds_bucket", fmt::format("le=\"{}\"", kCommitBuckets[i]),
         commit_bucket_counts_[i]);
  }
  line("breachwatch_commit_seconds_bucket", "le=\"+Inf\"", commit_count_);
  line("breachwatch_commit_seconds_sum", "", commit_seconds_sum_);
  line("breachwatch_commit_seconds_count", "", commit_count_);
  help("breachwatch_instruments", "gauge", "Instruments known (all versions' ids).");
  line("breachwatch_instruments", "", static_cast<double>(engine_->instrument_count()));
  out += SecurityMetrics();
  return out;
}

void Daemon::ArmTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    RunTick();
    ArmTick();
  });
}

void Daemon::RunRetentionPurge(TimePoint now) {
  using std::chrono::hours;
  std::optional<TimePoint> dead_letters_before;
  if (config_.store_dead_letter_retention_days > 0) {
    dead_letters_before = now - hours(24 * config_.store_dead_letter_retention_days);
  }
  auto purged =
      store_->Purge(now, dead_letters_before, now - hours(24 * config_.store_audit_retention_days));
  if (!purged.ok()) {
    spdlog::error("retention purge failed (retried in an hour): {}", purged.status().ToString());
    next_retention_purge_ = now + hours(1);
    return;
  }
  if (purged->dead_letters > 0 || purged->audit_rows > 0) {
    spdlog::info("retention purge: {} dead letter(s), {} audit record(s) erased",
                 purged->dead_letters, purged->audit_rows);
  }
  next_retention_purge_ = now + hours(24);
}

void Daemon::RunTick() {
  CheckSecurity();  // ZAP watchdog first: it must run even while the store is failing
  if (!held_.empty() || engine_stale_) {
    RetryHeldBatches();
    if (!held_.empty() || engine_stale_) return;  // still failing: try again next tick
  }
  const TimePoint now = clock_.Now();
  if (now >= next_retention_purge_) RunRetentionPurge(now);
  for (auto& f : feeds_) {
    if (f->catching_up && now >= f->catch_up_deadline) {
      FinishCatchUp(*f, "the replay endpoint did not answer within gap_fill_s");
    }
  }
  std::vector<Alert> health_alerts;
  health_alerts.swap(unsent_daemon_alerts_);
  for (const auto& gap : health_.ExpiredGaps(now)) {
    for (auto& f : feeds_) {
      if (f->config.name != gap.feed) continue;
      Alert a = FeedAlert(AlertKind::kFeedGap, Severity::kHigh, *f, gap.source,
                          "feed " + gap.feed + " source " + gap.source + ": messages " +
                              std::to_string(gap.from_seq) + " to " + std::to_string(gap.to_seq) +
                              " never arrived" +
                              (f->replay ? " and the replay endpoint did not supply them"
                                         : " (no replay endpoint configured)") +
                              "; events may be missing");
      a.extra["from_seq"] = gap.from_seq;
      a.extra["to_seq"] = gap.to_seq;
      health_alerts.push_back(std::move(a));
    }
  }
  for (const auto& silence : health_.CheckSilence(now)) {
    for (auto& f : feeds_) {
      if (f->config.name != silence.feed) continue;
      health_alerts.push_back(
          FeedAlert(AlertKind::kFeedSilent, Severity::kCritical, *f, "",
                    "feed " + silence.feed + " has sent nothing (not even a heartbeat) for " +
                        std::to_string(silence.quiet_for_s) + " s: breaches may be going unseen"));
    }
  }
  for (auto& f : feeds_) MaybeFeedRejectedAlert(*f, now, &health_alerts);
  if (!health_alerts.empty()) RaiseDaemonAlerts(std::move(health_alerts));
  auto due = store_->DueEscalations(now);
  if (!due.ok()) {
    spdlog::error("cannot read escalation deadlines: {}", due.status().ToString());
    return;
  }
  auto tick = engine_->Tick(now);
  if (!tick.ok()) spdlog::error("tick rules failed: {}", tick.status().ToString());
  const bool tick_has_work = tick.ok() && (!tick->alerts.empty() || !tick->mutations.empty());
  if (due->empty() && !tick_has_work) return;

  std::vector<Alert> to_publish;
  const int64_t seq_before = next_alert_seq_;
  Status s = store_->Begin();
  for (const auto& state : *due) {
    if (!s.ok()) break;
    boost::json::error_code ec;
    auto payload = boost::json::parse(state.payload, ec);
    if (ec || !payload.is_object()) continue;
    auto about_read = AlertFromJson(payload.get_object());
    if (!about_read.ok()) continue;
    Alert about = std::move(*about_read);
    // Level 1 goes to the instrument's supervisor; level 2 to the control rooms
    // the alert went to, else the instrument's owning control room, else all.
    std::string supervisor;
    std::vector<std::string> fallback = engine_->control_rooms();
    if (!about.instrument_id.empty()) {
      if (const auto* versions = engine_->state().instruments.VersionsOf(about.instrument_id)) {
        for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
          if (it->instrument) {
            supervisor = it->instrument->supervisor;
            fallback = {it->instrument->owning_control};
            break;
          }
        }
      }
    }
    // Level 2 is for the owning control room and the control room of the area
    // where it happened (spec 6.4), whoever the alert first went to.
    if (fallback.size() == 1) AddRecipient(&about, ControlTopic(fallback.front()));
    for (const auto& area : about.location_areas) {
      const auto& rooms = engine_->control_rooms();
      if (std::find(rooms.begin(), rooms.end(), area) != rooms.end()) {
        AddRecipient(&about, ControlTopic(area));
      }
    }
    auto step = NextEscalation(about, supervisor, state.escalation_level, state.raised_at,
                               config_.policy, fallback);
    if (!step) {
      s = store_->SetEscalation(state.alert_id, state.escalation_level, std::nullopt);
      continue;
    }
    Alert unacked = MakeUnacknowledgedAlert(about, step->level, step->recipients);
    s = StoreAlert(&unacked, now);
    if (!s.ok()) break;
    to_publish.push_back(unacked);
    auto next =
        NextEscalation(about, supervisor, step->level, state.raised_at, config_.policy, fallback);
    s = store_->SetEscalation(state.alert_id, step->level,
                              next ? std::optional<TimePoint>(next->due) : std::nullopt);
    spdlog::warn("alert #{} {} not acknowledged: escalated to level {}", state.seq, state.kind,
                 step->level);
  }
  if (s.ok() && tick_has_work) {
    InboundRecord rec;
    rec.received_at = now;
    rec.channel = kTickChannel;
    rec.topic = kTickChannel;
    rec.source = "breachwatchd";
    rec.msg_id = "tick-" + std::to_string(now.time_since_epoch().count());
    rec.type = "tick";
    rec.event_time = now;
    rec.payload = FormatRfc3339(now);
    rec.result = "handled";
    rec.detail = tick->note.empty() ? "time-driven rules" : tick->note;
    auto row = store_->InsertInbound(rec);
    s = row.ok() ? Status::Ok() : row.status();
    for (auto& a : tick->alerts) {
      if (!s.ok()) break;
      s = StoreAlert(&a, now);
      to_publish.push_back(a);
    }
  }
  if (s.ok()) s = store_->Commit();
  if (!s.ok()) {
    store_->Rollback();
    ++store_failures_;
    store_healthy_ = false;
    next_alert_seq_ = seq_before;
    spdlog::error("store failure during escalation/tick (retried next tick): {}", s.ToString());
    Status rs = RecoverAfterFailedCommit();
    if (!rs.ok()) {
      engine_stale_ = true;
      spdlog::error("cannot rebuild state from the store: {}", rs.ToString());
    }
    return;
  }
  if (tick_has_work) engine_->Apply(*tick);
  Publish(to_publish);
}

Status Daemon::RecoverAfterFailedCommit() {
  // The engine's state is a function of the handled events in handling order:
  // replay them.  Alerts they raised are already stored and are not raised again.
  engine_->Reset();
  DecodeOptions opts;
  opts.max_message_bytes = SIZE_MAX;
  opts.require_seq = false;
  opts.now = TimePoint::max() - std::chrono::hours(24 * 365);
  opts.future_skew_s = 0;
  int64_t replayed = 0, failed = 0;
  Status s = store_->ForEachHandled([&](const std::string& channel, const std::string& payload) {
    if (channel == kTickChannel) {
      // A recorded run of the time-driven rules: run it again at the same time.
      auto t = ParseRfc3339(payload);
      if (!t) return;
      auto outcome = engine_->Tick(*t);
      if (outcome.ok()) engine_->Apply(*outcome);
      return;
    }
    auto event = DecodeEvent(payload, opts);
    if (!event.ok()) {
      ++failed;
      spdlog::error("replay: stored event no longer decodes: {}", event.status().ToString());
      return;
    }
    auto outcome = engine_->Decide(*event);
    if (!outcome.ok()) {
      ++failed;
      spdlog::error("replay: event {}/{} no longer applies: {}", event->source, event->id,
                    outcome.status().ToString());
      return;
    }
    engine_->Apply(*outcome);
    ++replayed;
  });
  if (!s.ok()) return s;
  if (replayed > 0 || failed > 0) {
    spdlog::info("state rebuilt from {} stored event(s){}", replayed,
                 failed ? fmt::format(", {} could not be replayed", failed) : std::string());
  }
  auto max_seq = store_->MaxAlertSeq();
  if (!max_seq.ok()) return max_seq.status();
  next_alert_seq_ = *max_seq + 1;
  return Status::Ok();
}

size_t Daemon::DrainFeed(FeedSocket& feed, size_t budget) {
  if (intake_paused_) return 0;
  std::vector<Inbound> batch;
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    auto got =
        zmq::recv_multipart(*feed.socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    Inbound in;
    in.channel = feed.config.name;
    in.expected_topic = feed.config.name;
    if (frames.size() != 2) {
      in.frame_error = "expected 2 frames (topic, JSON), got " + std::to_string(frames.size());
      for (auto& f : frames) in.payload += f.to_string();
      if (!frames.empty()) in.topic = frames[0].to_string();
    } else {
      in.topic = frames[0].to_string();
      in.payload = frames[1].to_string();
    }
    batch.push_back(std::move(in));
  }
  if (batch.empty()) return 0;
  feed.received += static_cast<int64_t>(batch.size());
  if (feed.catching_up) {
    for (auto& in : batch) feed.held_live.push_back(std::move(in));
    return n;
  }
  std::vector<ItemResult> results;
  if (!ProcessBatch(batch, &results)) {
    HoldBatch(&feed, std::move(batch));
    return 0;
  }
  AfterFeedResults(feed, results);
  return n;
}

void Daemon::HoldBatch(FeedSocket* feed, std::vector<Inbound> batch) {
  spdlog::error("holding {} message(s) from {} until the store accepts them; intake paused",
                batch.size(), feed ? feed->config.name : std::string("replay"));
  held_.emplace_back(feed, std::move(batch));
  PauseIntake();
}

void Daemon::PauseIntake() {
  if (intake_paused_) return;
  intake_paused_ = true;
  for (auto& f : feeds_) f->watcher->Cancel();
  sd_notify(0, "STATUS=degraded: store failing; intake paused, nothing acknowledged");
}

void Daemon::ResumeIntake() {
  if (!intake_paused_) return;
  intake_paused_ = false;
  for (auto& f : feeds_) f->watcher->Start();
  sd_notify(0, "STATUS=serving");
  spdlog::info("store accepting writes again: intake resumed");
}

void Daemon::RetryHeldBatches() {
  if (engine_stale_) {
    Status rs = RecoverAfterFailedCommit();
    if (!rs.ok()) return;
    engine_stale_ = false;
  }
  while (!held_.empty()) {
    auto& [feed, batch] = held_.front();
    std::vector<ItemResult> results;
    if (!ProcessBatch(batch, &results)) return;
    if (feed != nullptr) AfterFeedResults(*feed, results);
    held_.erase(held_.begin());
  }
  ResumeIntake();
}

void Daemon::AfterFeedResults(FeedSocket& feed, const std::vector<ItemResult>& results) {
  const TimePoint now = clock_.Now();
  feed.last_seen = now;
  std::vector<Alert> alerts;
  if (auto restored = health_.Heard(feed.config.name, now)) {
    alerts.push_back(FeedAlert(AlertKind::kFeedRestored, Severity::kInfo, feed, "",
                               "feed " + feed.config.name + " is sending again after " +
                                   std::to_string(restored->quiet_for_s) + " s of silence"));
  }
  for (const auto& r : results) {
    if (r.result == "handled") {
      ++feed.handled;
    } else if (r.result == "duplicate") {
      ++feed.duplicates;
    } else if (r.result == "rejected") {
      ++feed.rejected;
      ++feed.rejected_since_alert;
      feed.last_dead_letter = r.dead_letter_id;
    }
    if (r.result == "failed" || r.source.empty() || r.seq <= 0) continue;
    if (auto gap =
            health_.Observe(feed.config.name, r.source, r.seq, now, config_.policy.gap_fill_s)) {
      ++feed.gaps;
      spdlog::warn("feed {} source {}: seq gap {}..{}{}", feed.config.name, r.source, gap->from_seq,
                   gap->to_seq,
                   feed.replay ? ", asking the replay endpoint" : " and no replay endpoint");
      if (feed.replay) RequestReplay(feed, r.source, gap->from_seq);
    }
  }
  MaybeFeedRejectedAlert(feed, now, &alerts);
  if (!alerts.empty()) RaiseDaemonAlerts(std::move(alerts));
}

void Daemon::MaybeFeedRejectedAlert(FeedSocket& feed, TimePoint now, std::vector<Alert>* alerts) {
  // A rejected event may be a missed breach: tell the control rooms, at most
  // once a minute per feed, with how many and where they are kept.  Called
  // after each batch and from the tick, so a feed that goes quiet after bad
  // input still gets its report.
  if (feed.rejected_since_alert == 0) return;
  if (feed.last_rejected_alert.time_since_epoch().count() != 0 &&
      now - feed.last_rejected_alert < std::chrono::minutes(1)) {
    return;
  }
  Alert a = FeedAlert(AlertKind::kFeedRejected, Severity::kMedium, feed, "",
                      std::to_string(feed.rejected_since_alert) + " message(s) on feed " +
                          feed.config.name +
                          " rejected as bad input; kept in the dead-letter store (latest "
                          "inbound row " +
                          std::to_string(feed.last_dead_letter) + ")");
  a.extra["rejected"] = feed.rejected_since_alert;
  a.extra["dead_letter_id"] = feed.last_dead_letter;
  alerts->push_back(std::move(a));
  feed.rejected_since_alert = 0;
  feed.last_rejected_alert = now;
}

Alert Daemon::FeedAlert(AlertKind kind, Severity severity, const FeedSocket& feed,
                        const std::string& source, const std::string& summary) {
  Alert a;
  a.kind = kind;
  a.severity = severity;
  a.event_time = clock_.Now();
  a.summary = summary;
  a.extra["feed"] = feed.config.name;
  a.extra["source"] = source;
  for (const auto& room : engine_->control_rooms()) AddRecipient(&a, ControlTopic(room));
  return a;
}

void Daemon::RaiseDaemonAlerts(std::vector<Alert> alerts) {
  const TimePoint now = clock_.Now();
  const int64_t seq_before = next_alert_seq_;
  Status s = store_->Begin();
  for (auto& a : alerts) {
    if (!s.ok()) break;
    s = StoreAlert(&a, now);
  }
  if (s.ok()) s = store_->Commit();
  if (!s.ok()) {
    store_->Rollback();
    ++store_failures_;
    store_healthy_ = false;
    spdlog::error("store failure raising {} daemon alert(s), kept for retry: {}", alerts.size(),
                  s.ToString());
    next_alert_seq_ = seq_before;
    for (auto& a : alerts) {
      a.seq = 0;
      unsent_daemon_alerts_.push_back(std::move(a));
    }
    Status rs = RecoverAfterFailedCommit();
    if (!rs.ok()) {
      engine_stale_ = true;
      spdlog::error("cannot rebuild state from the store: {}", rs.ToString());
    }
    return;
  }
  for (const auto& a : alerts) spdlog::warn("{}: {}", AlertKindName(a.kind), a.summary);
  Publish(alerts);
}

void Daemon::FinishCatchUp(FeedSocket& feed, const char* why) {
  feed.catching_up = false;
  feed.outstanding_catch_up = 0;
  std::vector<Inbound> live;
  live.swap(feed.held_live);
  spdlog::info("feed {}: {}; handling {} live message(s) held meanwhile", feed.config.name, why,
               live.size());
  if (live.empty()) return;
  std::vector<ItemResult> results;
  if (ProcessBatch(live, &results)) {
    AfterFeedResults(feed, results);
  } else {
    HoldBatch(&feed, std::move(live));
  }
}

void Daemon::RequestReplay(FeedSocket& feed, const std::string& source, int64_t from_seq) {
  boost::json::object req{{"op", "replay"}, {"from_seq", from_seq}};
  if (!source.empty()) req["source"] = source;
  const std::string body = boost::json::serialize(req);
  try {
    feed.replay->send(zmq::buffer(std::string()), zmq::send_flags::sndmore);
    feed.replay->send(zmq::buffer(std::string("replay")), zmq::send_flags::sndmore);
    feed.replay->send(zmq::buffer(body), zmq::send_flags::dontwait);
    ++feed.replay_requests;
  } catch (const zmq::error_t& e) {
    spdlog::warn("replay request to {} not sent: {}", feed.config.replay, e.what());
  }
  if (feed.replay_watcher) feed.replay_watcher->Recheck();
}

size_t Daemon::DrainReplay(FeedSocket& feed, size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    auto got =
        zmq::recv_multipart(*feed.replay, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    if (frames.empty()) continue;
    boost::json::error_code ec;
    auto v = boost::json::parse(frames.back().to_string(), ec);
    if (ec || !v.is_object() || !v.get_object().contains("events") ||
        !v.get_object().at("events").is_array()) {
      spdlog::warn("feed {}: replay reply is not {{\"events\": [...]}}; ignored", feed.config.name);
      continue;
    }
    const auto& events = v.get_object().at("events").get_array();
    std::vector<Inbound> batch;
    std::string source;
    int64_t last_seq = 0;
    for (const auto& ev : events) {
      Inbound in;
      in.channel = feed.config.name;
      in.topic = feed.config.name;
      in.expected_topic = feed.config.name;
      in.payload = boost::json::serialize(ev);
      batch.push_back(std::move(in));
      if (ev.is_object()) {
        const auto& eo = ev.get_object();
        if (auto it = eo.find("source"); it != eo.end() && it->value().is_string()) {
          source = std::string(it->value().get_string());
        }
        if (auto it = eo.find("seq"); it != eo.end() && it->value().is_int64()) {
          last_seq = std::max(last_seq, it->value().get_int64());
        }
      }
    }
    feed.replayed += static_cast<int64_t>(batch.size());
    if (!batch.empty()) {
      spdlog::info("feed {}: {} event(s) from the replay endpoint", feed.config.name, batch.size());
      std::vector<ItemResult> results;
      if (ProcessBatch(batch, &results)) {
        AfterFeedResults(feed, results);
      } else {
        HoldBatch(&feed, std::move(batch));
      }
    }
    // At most 1000 per reply: ask for the rest.
    if (events.size() >= 1000 && last_seq > 0) {
      RequestReplay(feed, source, last_seq + 1);
    } else if (feed.catching_up && --feed.outstanding_catch_up <= 0) {
      FinishCatchUp(feed, "caught up from the replay endpoint");
    }
  }
  return n;
}

Status Daemon::WriteRequestAudit(const Inbound& in, const InboundRecord& rec, int64_t row,
                                 const char* outcome) {
  if (in.request_audit == nullptr) return Status::Ok();
  AuditRecord a = *in.request_audit;
  a.subjects = rec.person_id;
  a.outcome = outcome;
  a.detail = "inbound #" + std::to_string(row) + " " + rec.source + "/" + rec.msg_id + " " +
             rec.type + " " + rec.result + (rec.reason.empty() ? "" : " (" + rec.reason + ")");
  Status s = store_->InsertAudit(a);
  // Takes effect only if the batch commits; ProcessBatch clears it otherwise.
  if (s.ok() && in.request_audit_written) *in.request_audit_written = true;
  return s;
}

bool Daemon::ProcessBatch(std::vector<Inbound>& batch, std::vector<ItemResult>* results) {
  const auto started = std::chrono::steady_clock::now();
  results->assign(batch.size(), ItemResult{});
  std::vector<Alert> to_publish;
  const int64_t seq_before = next_alert_seq_;
  Status s = store_->Begin();
  for (size_t i = 0; s.ok() && i < batch.size(); ++i) {
    s = ProcessOne(batch[i], &(*results)[i], &to_publish);
  }
  if (s.ok()) s = store_->Commit();
  if (!s.ok()) {
    store_->Rollback();
    next_alert_seq_ = seq_before;
    ++store_failures_;
    store_healthy_ = false;
    for (auto& in : batch) {
      if (in.request_audit_written) *in.request_audit_written = false;  // rolled back with it
    }
    spdlog::error("store failure, {} message(s) not handled: {}", batch.size(), s.ToString());
    sd_notify(0, "STATUS=degraded: store failure");
    for (auto& r : *results) {
      r = ItemResult{};
      r.result = "failed";
      r.reason = "store_unavailable";
      r.message = s.ToString();
    }
    Status rs = RecoverAfterFailedCommit();
    if (!rs.ok()) {
      engine_stale_ = true;
      spdlog::error("cannot rebuild state from the store: {}", rs.ToString());
    }
    return false;
  }
  ObserveCommit(std::chrono::steady_clock::now() - started);
  if (!store_healthy_) {
    store_healthy_ = true;
    sd_notify(0, "STATUS=serving");
    spdlog::info("store healthy again");
  }
  Publish(to_publish);
  return true;
}

Status Daemon::ProcessOne(const Inbound& in, ItemResult* out, std::vector<Alert>* to_publish) {
  const TimePoint now = clock_.Now();
  InboundRecord rec;
  rec.received_at = now;
  rec.channel = in.channel;
  rec.topic = in.topic;
  rec.payload = in.payload;

  auto reject = [&](const std::string& source, const Status& why) -> Status {
    rec.result = "rejected";
    rec.reason = why.reason().empty() ? "invalid" : why.reason();
    rec.detail = why.ToString();
    out->result = "rejected";
    out->reason = rec.reason;
    out->message = rec.detail;
    RecordRejection(in, source, why);
    rec.audited_by_caller = in.request_audit != nullptr;
    auto row = store_->InsertInbound(rec);
    if (!row.ok()) return row.status();
    out->dead_letter_id = *row;
    return WriteRequestAudit(in, rec, *row, "bad_request");
  };

  if (!in.frame_error.empty()) {
    return reject("", Status::BadInput("", in.frame_error, "bad_frames"));
  }
  if (!in.expected_topic.empty() && in.topic != in.expected_topic) {
    return reject("", Status::BadInput("topic",
                                       "topic \"" + in.topic + "\" is not this feed's topic \"" +
                                           in.expected_topic + "\"",
                                       "topic_mismatch"));
  }
  DecodeOptions opts;
  opts.max_message_bytes = static_cast<size_t>(config_.intake_max_message_bytes);
  opts.require_seq = in.require_seq;
  opts.now = now;
  opts.future_skew_s = config_.policy.future_skew_s;
  auto event = DecodeEvent(in.payload, opts);
  if (!event.ok()) return reject("", event.status());
  const Event& e = *event;
  rec.source = e.source;
  rec.msg_id = e.id;
  rec.seq = e.seq;
  rec.type = EventTypeName(e.type);
  rec.person_id = !e.person_id.empty() ? e.person_id
                  : e.instrument       ? e.instrument->subject
                                       : std::string();
  rec.event_time = e.time;
  out->source = e.source;
  out->seq = e.seq;
  if (!in.expected_topic.empty() && e.type != EventType::kHeartbeat &&
      in.expected_topic != FeedOfEventType(e.type)) {
    return reject(e.source, Status::BadInput("type",
                                             std::string("\"") + EventTypeName(e.type) +
                                                 "\" events do not belong on feed \"" +
                                                 in.expected_topic + "\"",
                                             "wrong_feed"));
  }
  auto dup = store_->HasHandled(e.source, e.id);
  if (!dup.ok()) return dup.status();
  if (*dup) {
    out->result = "duplicate";
    return Status::Ok();
  }
  auto outcome = engine_->Decide(e);
  if (!outcome.ok()) {
    if (outcome.status().code() == ErrorCode::kBadInput) return reject(e.source, outcome.status());
    // A failing handler must not stop the others: keep the event as a dead letter.
    spdlog::error("handler failed on {}/{}: {}", e.source, e.id, outcome.status().ToString());
    return reject(e.source, Status::BadInput("", outcome.status().message(), "handler_failed"));
  }
  rec.result = "handled";
  rec.detail = outcome->note;
  rec.audited_by_caller = in.request_audit != nullptr;
  auto row = store_->InsertInbound(rec);
  if (!row.ok()) return row.status();
  Status s = WriteRequestAudit(in, rec, *row, "ok");
  if (!s.ok()) return s;
  for (const auto& c : outcome->changes) {
    s = store_->InsertInstrumentChange(c, e.source, e.id, now);
    if (!s.ok()) return s;
  }
  for (auto& a : outcome->alerts) {
    s = StoreAlert(&a, now);
    if (!s.ok()) return s;
  }
  engine_->Apply(*outcome);
  out->result = "handled";
  out->message = outcome->note;
  for (const auto& a : outcome->alerts) {
    out->alerts.push_back(a);
    to_publish->push_back(a);
  }
  return Status::Ok();
}

void Daemon::RecordRejection(const Inbound& in, const std::string& source, const Status& why) {
  // Log once per source (or channel) per minute, with how many were suppressed.
  const std::string key = source.empty() ? "channel:" + in.channel : source;
  const TimePoint now = clock_.Now();
  auto it = last_reject_log_.find(key);
  if (it != last_reject_log_.end() && now - it->second < std::chrono::minutes(1)) {
    ++suppressed_rejects_[key];
    return;
  }
  int64_t suppressed = suppressed_rejects_[key];
  suppressed_rejects_[key] = 0;
  last_reject_log_[key] = now;
  spdlog::warn("rejected message on {} from {}: {} [{}]{}", in.channel,
               source.empty() ? "unknown source" : source, why.ToString(), why.reason(),
               suppressed ? fmt::format(" ({} more rejected since the last report)", suppressed)
                          : std::string());
}

void Daemon::Publish(const std::vector<Alert>& alerts) {
  for (const auto& a : alerts) {
    const std::string body = boost::json::serialize(AlertToJson(a));
    for (const auto& topic : a.recipients) {
      try {
        if (!alerts_->send(zmq::buffer(topic),
                           zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
          // A subscriber of this topic is at its high-water mark.  Count it, and
          // deliver to the others (lossy for the stuck one only) rather than let
          // one stuck client hold up every control room.
          ++publish_dropped_;
          alerts_->set(zmq::sockopt::xpub_nodrop, false);
          alerts_->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          alerts_->send(zmq::buffer(body), zmq::send_flags::dontwait);
          alerts_->set(zmq::sockopt::xpub_nodrop, true);
          continue;
        }
        alerts_->send(zmq::buffer(body), zmq::send_flags::dontwait);
        ++alerts_published_;
      } catch (const zmq::error_t& e) {
        spdlog::error("publishing alert {} to {} failed: {} (stored; retrievable by alerts.since)",
                      a.seq, topic, e.what());
      }
    }
  }
}

size_t Daemon::DrainControl(size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    auto got =
        zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    if (frames.empty() || !serving_) continue;  // not serving: the ZAP handler failed
    // [identity][empty delimiter, from REQ][op][body]  or  [identity][op][body] from DEALER.
    std::vector<zmq::message_t> envelope;
    envelope.push_back(std::move(frames[0]));
    size_t i = 1;
    if (i < frames.size() && frames[i].size() == 0) {
      envelope.push_back(std::move(frames[i]));
      ++i;
    }
    std::string reply;
    std::string op;
    if (frames.size() - i != 2) {
      reply = ErrorReply(ErrorCode::kBadInput,
                         "a request is two frames: the op name, then a JSON object");
      op = frames.size() > i ? frames[i].to_string() : "";
    } else {
      op = frames[i].to_string();
      // The ZAP User-Id (mode curve) travels with every frame the client sent.
      const char* user_id = zmq_msg_gets(frames[i].handle(), "User-Id");
      reply = HandleControl(op, frames[i + 1].to_string(), user_id ? user_id : "");
    }
    ++control_requests_;
    try {
      for (auto& f : envelope) control_->send(f, zmq::send_flags::sndmore);
      control_->send(zmq::buffer(op), zmq::send_flags::sndmore);
      control_->send(zmq::buffer(reply), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      spdlog::warn("control reply not sent: {}", e.what());
    }
  }
  control_watcher_->Recheck();
  return n;
}

std::string Daemon::HandleControl(const std::string& op, const std::string& body,
                                  const std::string& user_id) {
  AuditRecord audit;
  audit.at = clock_.Now();
  audit.op = op;
  audit.actor = "unknown";
  audit.category = "access";  // until the request is decoded and allowed
  // A command that changes stored data (alert.ack, alert.resolve) runs in one
  // transaction with its audit row: both are kept, or neither.  event.submit
  // writes its row with the inbound message (ProcessOne) and sets this flag.
  bool in_transaction = false;
  bool audit_written = false;
  auto finish = [&](boost::json::object reply, const Status& s) {
    audit.outcome = s.ok() ? "ok"
                           : ErrorCodeName(s.code() == ErrorCode::kIoError ? ErrorCode::kUnavailable
                                                                           : s.code());
    if (!s.ok() && audit.detail.empty()) audit.detail = s.ToString();
    Status as = audit_written ? Status::Ok() : store_->InsertAudit(audit);
    if (in_transaction) {
      if (as.ok() && s.ok()) as = store_->Commit();
      if (!as.ok() || !s.ok()) store_->Rollback();
      if (!s.ok() && as.ok()) {
        // The command failed and was rolled back: its refusal is still audited.
        as = store_->InsertAudit(audit);
      }
    }
    if (!as.ok()) {
      spdlog::error("audit write failed, request refused: {}", as.ToString());
      return ErrorReply(ErrorCode::kUnavailable, "the audit log cannot be written; refusing");
    }
    if (!s.ok()) return ErrorReply(s);
    reply["ok"] = true;
    return std::string(boost::json::serialize(reply));
  };

  // Parsing and validation are the pure decoder's (handlers/wire/control_request.h);
  // a refused request is still audited with who asked and why when known.
  ControlDecodeOptions decode_options;
  decode_options.max_body_bytes = static_cast<size_t>(config_.intake_max_message_bytes) * 4;
  ControlIdentity who;
  auto decoded = DecodeControlRequest(op, body, decode_options, &who);
  if (!who.officer_id.empty()) {
    audit.actor = who.officer_id;
    audit.reason = who.reason;
  }
  // CURVE: the actor is the authenticated identity (ZAP User-Id), never the claimed officer_id.
  std::string acting_for;
  if (curve()) {
    audit.actor = user_id.empty() ? "unauthenticated" : user_id;
    Status allowed = AuthoriseControl(op, who.officer_id, user_id, &acting_for);
    if (!allowed.ok()) return finish({}, allowed);
  }
  if (!decoded.ok()) return finish({}, decoded.status());
  const ControlRequest& req = *decoded;
  switch (req.op) {
    case ControlOp::kAlertAck:
    case ControlOp::kAlertResolve: {
      audit.category = "alteration";
      Status began = store_->Begin();
      if (!began.ok()) return finish({}, Status::Unavailable("the store is failing: " + began.message()));
      in_transaction = true;
      break;
    }
    case ControlOp::kEventSubmit:
      audit.category = "collection";
      break;
    default:
      audit.category = "consultation";
  }
  audit_written_flag_ = &audit_written;

  using OpFn = Result<boost::json::object> (Daemon::*)(const ControlRequest&, AuditRecord*);
  static const std::map<ControlOp, OpFn> kOps = {
      {ControlOp::kStatus, &Daemon::OpStatus},
      {ControlOp::kConditionsPerson, &Daemon::OpConditionsPerson},
      {ControlOp::kConditionsProtected, &Daemon::OpConditionsProtected},
      {ControlOp::kConditionsLocation, &Daemon::OpConditionsLocation},
      {ControlOp::kHistoryPerson, &Daemon::OpHistoryPerson},
      {ControlOp::kAlertsSince, &Daemon::OpAlertsSince},
      {ControlOp::kAlertsOpen, &Daemon::OpAlertsOpen},
      {ControlOp::kAlertAck, &Daemon::OpAlertAck},
      {ControlOp::kAlertResolve, &Daemon::OpAlertResolve},
      {ControlOp::kEventSubmit, &Daemon::OpEventSubmit},
  };
  auto reply = (this->*(kOps.at(req.op)))(req, &audit);
  audit_written_flag_ = nullptr;
  if (!acting_for.empty()) {
    audit.detail = "on behalf of " + acting_for + (audit.detail.empty() ? "" : "; " + audit.detail);
  }
  if (!reply.ok()) return finish({}, reply.status());
  if (req.op == ControlOp::kAlertsSince || req.op == ControlOp::kAlertsOpen) {
    FilterVisibleAlerts(user_id, &*reply);
  }
  return finish(std::move(*reply), Status::Ok());
}

Result<boost::json::object> Daemon::OpStatus(const ControlRequest&, AuditRecord*) {
  return StatusJson();
}

Result<boost::json::object> Daemon::OpConditionsPerson(const ControlRequest& req,
                                                       AuditRecord* audit) {
  const std::string& person = req.person_id;
  audit->subjects = person;
  const TimePoint at = req.at_time.value_or(clock_.Now());
  boost::json::array instruments;
  for (const auto& ins : engine_->InForce(person, at)) instruments.push_back(ins->raw);
  auto breaches = store_->CountAlerts(
      person, std::vector<std::string>(std::begin(kBreachKinds), std::end(kBreachKinds)));
  if (!breaches.ok()) return breaches.status();
  boost::json::object o;
  o["person_id"] = person;
  o["at_time"] = FormatRfc3339(at);
  o["instruments"] = std::move(instruments);
  o["in_custody"] = engine_->state().InCustodyAt(person, at);
  o["breach_count"] = *breaches;
  return o;
}

Result<boost::json::object> Daemon::OpConditionsProtected(const ControlRequest& req,
                                                          AuditRecord* audit) {
  const std::string& person = req.person_id;
  audit->subjects = person;
  const TimePoint at = req.at_time.value_or(clock_.Now());
  boost::json::array instruments;
  std::string subjects;
  for (const auto& ins : engine_->state().instruments.ProtectingInForce(person, at)) {
    boost::json::object o = ins->raw;
    o["in_custody"] = engine_->state().InCustodyAt(ins->subject, at);
    instruments.push_back(std::move(o));
    subjects += "," + ins->subject;
  }
  audit->subjects += subjects;
  boost::json::object o;
  o["person_id"] = person;
  o["at_time"] = FormatRfc3339(at);
  o["instruments"] = std::move(instruments);
  return o;
}

Result<boost::json::object> Daemon::OpConditionsLocation(const ControlRequest& req,
                                                         AuditRecord* audit) {
  const Location& loc = req.location;
  const Zone* area_zone = nullptr;
  if (!loc.area.empty()) {
    area_zone = zones_->Find(loc.area);
    if (area_zone == nullptr) {
      return Status::NotFound("area \"" + loc.area + "\" is not in any loaded zone set");
    }
  }
  const TimePoint at = req.at_time.value_or(clock_.Now());

  boost::json::array conditions;
  std::string subjects;
  for (const auto& [id, versions] : engine_->state().instruments.all()) {
    auto ins = engine_->state().instruments.InForceAt(id, at);
    if (!ins) continue;
    for (const auto& c : ins->conditions) {
      bool forbids = false;
      if (c.kind == ConditionKind::kExclusionZone) {
        const GeoMultiPolygon* geom =
            c.inline_zone
                ? &*c.inline_zone
                : (zones_->Find(c.zone_code) ? &zones_->Find(c.zone_code)->geometry : nullptr);
        if (loc.at && geom != nullptr && Covers(*geom, *loc.at)) forbids = true;
        if (area_zone != nullptr &&
            (c.zone_code == loc.area ||
             (geom != nullptr && AreasOverlap(*geom, area_zone->geometry)))) {
          forbids = true;
        }
      } else if (c.kind == ConditionKind::kNotToAttend && c.place) {
        if (loc.at && GeodesicDistanceMeters(*loc.at, c.place->at) <= c.place->radius_m) {
          forbids = true;
        }
        if (area_zone != nullptr && Covers(area_zone->geometry, c.place->at)) forbids = true;
      }
      if (!forbids) continue;
      boost::json::object o;
      o["subject"] = ins->subject;
      o["instrument_id"] = ins->instrument_id;
      o["instrument_kind"] = InstrumentKindName(ins->kind);
      o["oic"] = ins->oic;
      o["owning_control"] = ins->owning_control;
      o["protected_persons"] = ins->raw.contains("protected_persons")
                                   ? ins->raw.at("protected_persons")
                                   : boost::json::value(boost::json::array{});
      o["in_custody"] = engine_->state().InCustodyAt(ins->subject, at);
      for (const auto& cv : ins->raw.at("conditions").as_array()) {
        if (cv.as_object().at("condition_id").as_string() == c.condition_id) o["condition"] = cv;
      }
      conditions.push_back(std::move(o));
      subjects += (subjects.empty() ? "" : ",") + ins->subject;
    }
  }
  audit->subjects = subjects;
  audit->detail = std::to_string(conditions.size()) + " condition(s) disclosed";
  boost::json::object o;
  if (loc.at) o["at"] = boost::json::array{loc.at->x(), loc.at->y()};
  if (!loc.area.empty()) o["area"] = loc.area;
  o["at_time"] = FormatRfc3339(at);
  o["conditions"] = std::move(conditions);
  return o;
}

Result<boost::json::object> Daemon::OpHistoryPerson(const ControlRequest& req,
                                                    AuditRecord* audit) {
  const std::string& person = req.person_id;
  audit->subjects = person;
  auto rows = store_->PersonHistory(person);
  if (!rows.ok()) return rows.status();
  boost::json::array history;
  for (const auto& r : *rows) {
    boost::json::error_code ec;
    auto detail = boost::json::parse(r.detail, ec);
    history.push_back({{"time", FormatRfc3339(r.time)},
                       {"what", r.what},
                       {"detail", ec ? boost::json::value(r.detail) : detail}});
  }
  audit->detail = std::to_string(history.size()) + " record(s) disclosed";
  boost::json::object o;
  o["person_id"] = person;
  o["history"] = std::move(history);
  return o;
}

Result<boost::json::object> Daemon::OpAlertsSince(const ControlRequest& req,
                                                  AuditRecord* audit) {
  const int64_t seq = req.seq;
  auto rows = store_->AlertsSince(seq, kMaxAlertsPerReply + 1);
  if (!rows.ok()) return rows.status();
  boost::json::array alerts;
  bool more = rows->size() > static_cast<size_t>(kMaxAlertsPerReply);
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(kMaxAlertsPerReply); ++i) {
    alerts.push_back(boost::json::parse((*rows)[i]));
  }
  audit->detail = std::to_string(alerts.size()) + " alert(s) disclosed";
  boost::json::object o;
  o["alerts"] = std::move(alerts);
  o["more"] = more;
  return o;
}

boost::json::object Daemon::AlertStateJson(const AlertState& a) {
  boost::json::error_code ec;
  auto v = boost::json::parse(a.payload, ec);
  boost::json::object o = (!ec && v.is_object()) ? v.get_object() : boost::json::object{};
  o["acked"] = a.acked_at.has_value();
  if (a.acked_at) {
    o["acked_at"] = FormatRfc3339(*a.acked_at);
    o["acked_by"] = a.acked_by;
  }
  if (a.resolved_at) {
    o["resolved_at"] = FormatRfc3339(*a.resolved_at);
    o["resolved_by"] = a.resolved_by;
    o["outcome"] = a.outcome;
    if (!a.note.empty()) o["note"] = a.note;
  }
  o["escalation_level"] = a.escalation_level;
  if (a.next_escalation_at) o["next_escalation_at"] = FormatRfc3339(*a.next_escalation_at);
  return o;
}

Result<boost::json::object> Daemon::OpAlertsOpen(const ControlRequest& req,
                                                 AuditRecord* audit) {
  const int64_t older_than_s = req.older_than_s;
  auto rows = store_->OpenAlerts(req.recipient);
  if (!rows.ok()) return rows.status();
  const TimePoint cutoff = clock_.Now() - std::chrono::seconds(older_than_s);
  boost::json::array alerts;
  for (const auto& a : *rows) {
    if (older_than_s > 0 && a.raised_at > cutoff) continue;
    alerts.push_back(AlertStateJson(a));
  }
  audit->subjects = req.recipient;
  audit->detail = std::to_string(alerts.size()) + " open alert(s) disclosed";
  boost::json::object o;
  o["alerts"] = std::move(alerts);
  return o;
}

namespace {
// The person an alert is about (its audit subject), or its id when none.
std::string PersonOfAlert(const AlertState& a) {
  boost::json::error_code ec;
  auto v = boost::json::parse(a.payload, ec);
  if (!ec && v.is_object()) {
    if (const auto* p = v.as_object().if_contains("person_id"); p && p->is_string()) {
      if (!p->as_string().empty()) return std::string(p->as_string());
    }
  }
  return a.alert_id;
}
}  // namespace

Result<boost::json::object> Daemon::OpAlertAck(const ControlRequest& req, AuditRecord* audit) {
  const std::string& id = req.alert_id;
  audit->subjects = id;
  auto current = store_->GetAlert(id);
  if (!current.ok()) return current.status();
  if (!*current) return Status::NotFound("no alert \"" + id + "\"");
  audit->subjects = PersonOfAlert(**current);
  audit->detail = "alert " + id;
  Status s = store_->AckAlert(id, audit->actor, clock_.Now());
  if (!s.ok()) return s;
  auto after = store_->GetAlert(id);
  if (!after.ok()) return after.status();
  boost::json::object o;
  o["alert"] = AlertStateJson(**after);
  return o;
}

Result<boost::json::object> Daemon::OpAlertResolve(const ControlRequest& req,
                                                   AuditRecord* audit) {
  const std::string& id = req.alert_id;
  const std::string& outcome = req.outcome;
  audit->subjects = id;
  auto current = store_->GetAlert(id);
  if (!current.ok()) return current.status();
  if (!*current) return Status::NotFound("no alert \"" + id + "\"");
  audit->subjects = PersonOfAlert(**current);
  audit->detail = "alert " + id;
  if ((*current)->resolved_at) {
    return Status::BadInput(
        "alert_id",
        "alert already resolved as \"" + (*current)->outcome + "\" by " + (*current)->resolved_by,
        "conflict");
  }
  Status s = store_->ResolveAlert(id, audit->actor, clock_.Now(), outcome, req.note);
  if (!s.ok()) return s;
  audit->detail = "alert " + id + " outcome " + outcome;
  auto after = store_->GetAlert(id);
  if (!after.ok()) return after.status();
  boost::json::object o;
  o["alert"] = AlertStateJson(**after);
  return o;
}

Result<boost::json::object> Daemon::OpEventSubmit(const ControlRequest& req,
                                                  AuditRecord* audit) {
  std::vector<Inbound> batch(1);
  batch[0].channel = "control";
  batch[0].topic = "event.submit";
  batch[0].payload = boost::json::serialize(req.event);
  batch[0].require_seq = false;
  batch[0].request_audit = audit;
  batch[0].request_audit_written = audit_written_flag_;
  if (engine_stale_ || !held_.empty()) {
    return Status::Unavailable("the store is failing; nothing can be accepted until it recovers");
  }
  std::vector<ItemResult> results;
  ProcessBatch(batch, &results);
  const ItemResult& r = results[0];
  audit->subjects = r.source;
  audit->detail = r.result + (r.message.empty() ? "" : ": " + r.message);
  if (r.result == "rejected") return Status::BadInput("event", r.message, r.reason);
  if (r.result == "failed") return Status::Unavailable(r.message);
  boost::json::object o;
  o["result"] = r.result;
  o["note"] = r.message;
  boost::json::array ids;
  for (const auto& a : r.alerts) {
    ids.push_back({{"alert_id", a.alert_id}, {"seq", a.seq}, {"kind", AlertKindName(a.kind)}});
  }
  o["alerts"] = std::move(ids);
  return o;
}

boost::json::object Daemon::StatusJson() {
  boost::json::object o;
  const TimePoint now = clock_.Now();
  o["version"] = BREACHWATCH_VERSION;
  o["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(now - started_at_).count();
  boost::json::array feeds;
  for (const auto& f : feeds_) {
    boost::json::object fo;
    fo["name"] = f->config.name;
    fo["endpoint"] = f->config.endpoint;
    fo["received"] = f->received;
    fo["handled"] = f->handled;
    fo["rejected"] = f->rejected;
    fo["duplicates"] = f->duplicates;
    boost::json::object seqs;
    for (const auto& [key, seq] : health_.last_seqs()) {
      if (key.first == f->config.name) seqs[key.second] = seq;
    }
    fo["last_seq"] = std::move(seqs);
    fo["gaps"] = f->gaps;
    fo["replay"] = f->config.replay;
    fo["replay_requests"] = f->replay_requests;
    fo["replayed"] = f->replayed;
    fo["silent"] = health_.IsSilent(f->config.name);
    if (f->last_seen.time_since_epoch().count() != 0) {
      fo["last_seen_age_s"] =
          std::chrono::duration_cast<std::chrono::seconds>(now - f->last_seen).count();
    } else {
      fo["last_seen_age_s"] = nullptr;
    }
    feeds.push_back(std::move(fo));
  }
  o["feeds"] = std::move(feeds);
  boost::json::object counts;
  auto c = store_->Counts();
  if (c.ok()) {
    counts["inbound_handled"] = c->inbound_handled;
    counts["inbound_rejected"] = c->inbound_rejected;
    counts["instruments"] = c->instruments;
    counts["alerts"] = c->alerts;
    counts["audit_records"] = c->audit;
  }
  counts["alerts_published"] = alerts_published_;
  counts["alert_deliveries_dropped"] = publish_dropped_;
  int64_t held = 0;
  for (const auto& [f, batch] : held_) held += static_cast<int64_t>(batch.size());
  for (const auto& f : feeds_) held += static_cast<int64_t>(f->held_live.size());
  counts["held_messages"] = held;
  counts["control_requests"] = control_requests_;
  counts["last_alert_seq"] = next_alert_seq_ - 1;
  o["counts"] = std::move(counts);
  o["store"] = {{"path", ResolveStorePath(config_.store_path)},
                {"healthy", store_healthy_ && c.ok()},
                {"failures", store_failures_}};
  o["zones"] = zones_->size();
  o["missing_seqs"] = health_.MissingCount();
  o["security"] = SecurityStatusJson();
  return o;
}

}  // namespace bw
