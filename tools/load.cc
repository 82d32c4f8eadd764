// bw-load: plays a realistic population against the real breachwatchd over
// ZeroMQ tcp loopback and measures it, open loop: every event has a scheduled
// send time, and its latency runs from that time to the arrival of its alert
// on a subscriber, so a stall of the daemon (or of this tool) is never hidden.
//
// bw-load starts breachwatchd with a generated config in a private directory,
// binds the four feeds (orders, tag, custody, check) as PUB sockets the daemon
// connects to, subscribes to every alert, loads the population through the
// orders feed (instrument.granted) and runs one mode:
//
//   fixed     --rate R for --duration-s D
//   ladder    rates doubling from --ladder-start, then bisected: the highest
//             rate sustained (drained within 1 s, nothing lost), and the highest
//             also keeping p99 <= --p99-ms; then fixed runs at half the sustained
//             maximum for the latency percentiles
//   backlog   --backlog fixes sent at once (a network outage draining); times
//             the drain to the alert of a final breaching fix
//   startup   a store with --instruments instruments: time from exec to
//             READY=1, and RSS; the first start replays the whole journal, the
//             later ones start from the snapshot the daemon wrote after it
//   rss       one instrument with one inline ~64-vertex zone per person: RSS
//             per person
//   fault     --rate R for --duration-s D with an fsync stall injected at
//             --stall-at-s: the next --stall-commits commits each wait
//             --stall-ms (the daemon's BREACHWATCH_FAULT_FILE seam,
//             `stall_commit_ms`); reports latency per second of schedule and
//             before / during / after the stall, and checks nothing is lost
//   smoke     2,000 persons, a short fixed run and a small backlog: checks
//             correctness only (ctest)
//
// Every run checks itself: the alerts received equal the alerts the generator
// expects (by causing event id and kind: none lost, none duplicated, none
// unexpected; a proximity_breach counted per copy, officer and control), and,
// after the daemon stops, every event sent is stored exactly
// once as handled in the daemon's own store.  Exit status 0 when every
// check passed.  --json FILE writes the figures for scripts/run-load.sh.
//
// --pg CONNINFO runs the daemon on the PostgreSQL backend (docs/ha.md): a fresh
// database of the cluster CONNINFO reaches (dropped after a passing run unless
// --keep) is its store; the correctness checks read it there.  With
// pg_stat_statements loaded in that cluster (scripts/run-load.sh --pg starts one
// so), the statements' server time and the WAL's writes and fsyncs of the run
// are reported too: what bounds the commit.
//
// Threads: the main thread generates and sends; one receiver thread reads
// alerts.  They share only Receiver (mutex).
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "config/settings.h"
#include "handlers/base/time_util.h"
#include "tools/client.h"
#include "tools/load_population.h"

extern char** environ;

namespace bw::load {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
const char* const kFeeds[4] = {"orders", "tag", "custody", "check"};
const char* const kSourceNames[4] = {"orders-load", "em-load", "custody-load", "check-load"};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:port/metrics; empty on failure.
std::string HttpGetMetrics(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) < 0) {
    ::close(fd);
    return {};
  }
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Sum of a metric's values whose labels contain `label` (all when empty).
double MetricValue(const std::string& text, const std::string& name, const std::string& label) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// User + system CPU time of `pid` so far, in milliseconds.
double CpuMs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Alerts as they arrive.
struct Arrival {
  uint64_t event = 0;  // the number in caused_by.id "e<N>"; 0 when not caused by a load event
  Kind kind = Kind::kOther;
  bool grant = false;  // caused by an instrument.granted
  int64_t seq = 0;
  int64_t at_ns = 0;
  int64_t raised_ns = 0;  // the alert's raised_at (the daemon's clock when it began deciding the
                          // batch, to the millisecond) on this tool's steady clock; 0 if absent
};

class Receiver {
 public:
  Receiver(zmq::context_t& ctx, const std::string& endpoint) : sub_(ctx, zmq::socket_type::sub) {
    sub_.set(zmq::sockopt::rcvhwm, 0);
    sub_.set(zmq::sockopt::linger, 0);
    sub_.set(zmq::sockopt::subscribe, "");
    sub_.connect(endpoint);
    // raised_at is wall-clock time; latencies are on the steady clock.  Both clocks run on this
    // machine, so one offset taken now converts between them (to the millisecond raised_at has).
    wall_minus_steady_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() -
                            NowNs();
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return arrivals_.size();
  }
  std::vector<Arrival> Snapshot() {
    std::lock_guard<std::mutex> l(mu_);
    return arrivals_;
  }
  int64_t deliveries() const { return deliveries_; }
  int64_t parse_errors() const { return parse_errors_; }

 private:
  void Loop() {
    boost::json::parser parser;
    while (!stop_) {
      zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      for (;;) {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(sub_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
          break;
        }
        const int64_t now = NowNs();
        ++deliveries_;
        if (frames.size() != 2) {
          ++parse_errors_;
          continue;
        }
        boost::json::error_code ec;
        parser.reset();
        parser.write(frames[1].data<char>(), frames[1].size(), ec);
        if (ec) {
          ++parse_errors_;
          continue;
        }
        boost::json::value v = parser.release();
        if (!v.is_object()) continue;
        const auto& o = v.get_object();
        Arrival a;
        a.at_ns = now;
        if (auto it = o.find("seq"); it != o.end() && it->value().is_int64()) {
          a.seq = it->value().get_int64();
        }
        if (a.seq <= 0) {
          ++parse_errors_;
          continue;
        }
        if (static_cast<size_t>(a.seq) >= seen_.size()) seen_.resize(a.seq * 2 + 1024, 0);
        if (seen_[a.seq]) continue;  // another recipient's copy
        seen_[a.seq] = 1;
        if (auto it = o.find("raised_at"); it != o.end() && it->value().is_string()) {
          if (auto t = ParseRfc3339(std::string(it->value().get_string()))) {
            a.raised_ns =
                std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch())
                    .count() -
                wall_minus_steady_ns_;
          }
        }
        if (auto it = o.find("kind"); it != o.end() && it->value().is_string()) {
          std::string_view copy;
          if (auto c = o.find("copy"); c != o.end() && c->value().is_string()) {
            copy = c->value().get_string();
          }
          a.kind = KindOfAlert(it->value().get_string(), copy);
        }
        if (auto it = o.find("caused_by"); it != o.end() && it->value().is_object()) {
          const auto& cb = it->value().get_object();
          if (auto id = cb.find("id"); id != cb.end() && id->value().is_string()) {
            std::string_view s = id->value().get_string();
            if (s.size() > 1 && s[0] == 'e') {
              a.event = std::strtoull(std::string(s.substr(1)).c_str(), nullptr, 10);
            } else if (s.size() > 1 && s[0] == 'g') {
              a.grant = true;
            }
          }
        }
        std::lock_guard<std::mutex> l(mu_);
        arrivals_.push_back(a);
      }
    }
  }

  zmq::socket_t sub_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> deliveries_{0}, parse_errors_{0};
  int64_t wall_minus_steady_ns_ = 0;  // set before the thread starts
  std::vector<uint8_t> seen_;
  std::mutex mu_;
  std::vector<Arrival> arrivals_;
};

// ---------------------------------------------------------------------------
// The daemon and the feeds.
struct Options {
  std::string daemon = BREACHWATCHD_PATH;
  std::string source_dir = BREACHWATCH_SOURCE_DIR;
  std::string shared_dir = BREACHWATCH_SHARED_DATA_DIR;
  std::string dir;
  bool keep = false;
  uint64_t seed = 20261126;
  std::string log_level = "warn";
  int drain_budget = 0;  // [intake] drain_budget; 0: the daemon's default
  std::string pg;        // admin conninfo of a PostgreSQL cluster: the PostgreSQL backend
};

// A libpq session of bw-load's own (to create, check and drop the daemon's database).
class PgSession {
 public:
  explicit PgSession(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {}
  ~PgSession() { PQfinish(c_); }
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(c_); }
  // Runs `sql` with text parameters; the rows as text (empty on error: see `last_error`).
  std::vector<std::vector<std::string>> Query(const std::string& sql,
                                              const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    std::vector<std::vector<std::string>> rows;
    const ExecStatusType st = PQresultStatus(r);
    last_error_.clear();
    if (st == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i) {
        rows.emplace_back();
        for (int j = 0; j < PQnfields(r); ++j) rows.back().push_back(PQgetvalue(r, i, j));
      }
    } else if (st != PGRES_COMMAND_OK) {
      last_error_ = PQresultErrorMessage(r);
    }
    PQclear(r);
    return rows;
  }
  const std::string& last_error() const { return last_error_; }

 private:
  PGconn* c_;
  std::string last_error_;
};

class Harness {
 public:
  explicit Harness(const Options& opt) : opt_(opt) {
    if (opt_.dir.empty()) {
      char tmpl[] = "/tmp/bw-load-XXXXXX";
      dir_ = mkdtemp(tmpl);
    } else {
      dir_ = opt_.dir;
      std::filesystem::create_directories(dir_);
    }
    for (int f = 0; f < 4; ++f) {
      feeds_[f] = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::xpub);
      feeds_[f]->set(zmq::sockopt::sndhwm, 0);  // never drop: the daemon reads with rcvhwm 0
      feeds_[f]->set(zmq::sockopt::linger, 5000);
      feeds_[f]->bind("tcp://127.0.0.1:*");
      feed_endpoints_[f] = feeds_[f]->get(zmq::sockopt::last_endpoint);
    }
    alerts_ = "tcp://127.0.0.1:" + std::to_string(FreePort());
    control_ = "tcp://127.0.0.1:" + std::to_string(FreePort());
    metrics_port_ = FreePort();
    if (!opt_.pg.empty()) CreatePgDatabase();
    WriteConfig();
  }
  ~Harness() {
    receiver_.reset();
    if (pid_ > 0) Stop();
    for (auto& f : feeds_) f->close();
    std::error_code ec;
    if (!opt_.keep && opt_.dir.empty() && !failed_) std::filesystem::remove_all(dir_, ec);
    if (!pg_database_.empty() && !opt_.keep && !failed_) {
      PgSession admin(opt_.pg);
      admin.Query("DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
    }
  }
  bool postgres() const { return !pg_database_.empty(); }
  // The daemon's database (PostgreSQL backend): its conninfo; "" on SQLite.
  const std::string& pg_conninfo() const { return pg_conninfo_; }
  const std::string& pg_database() const { return pg_database_; }
  void set_failed() { failed_ = true; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  // A fresh database for the daemon in the cluster --pg names (with pg_stat_statements when
  // the cluster preloads it); exits on failure.
  void CreatePgDatabase() {
    PgSession admin(opt_.pg);
    if (!admin.ok()) {
      std::fprintf(stderr, "bw-load: cannot connect to --pg %s: %s\n", opt_.pg.c_str(),
                   admin.error().c_str());
      std::exit(2);
    }
    pg_database_ = "bw_load_" + std::to_string(getpid()) + "_" + std::to_string(NowNs() % 1000000);
    admin.Query("CREATE DATABASE " + pg_database_);
    if (!admin.last_error().empty()) {
      std::fprintf(stderr, "bw-load: CREATE DATABASE: %s\n", admin.last_error().c_str());
      std::exit(2);
    }
    pg_conninfo_ = opt_.pg + " dbname=" + pg_database_;  // the last dbname wins
    PgSession db(pg_conninfo_);
    db.Query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");  // absent: not measured
  }

  // The daemon's settings, rendered through the settings table (config/settings.h).
  Config DaemonConfig() const {
    Config c;
    c.store_path = dir_ + "/breachwatch.db";
    if (!pg_conninfo_.empty()) {
      c.store_backend = "postgresql";
      c.store_postgresql_conninfo = pg_conninfo_;
      c.store_node_name = "bw-load";
    }
    c.zones = {{.file = opt_.source_dir + "/config/zones/london_lad22_bgc_wgs84.geojson",
                .code_property = "LAD22CD",
                .name_property = "LAD22NM",
                .skip_invalid = false},
               {.file = opt_.shared_dir + "/london_lsoa21_bgc_wgs84.geojson",
                .code_property = "LSOA21CD",
                .name_property = "LSOA21NM",
                .skip_invalid = false}};
    c.alerts_endpoint = alerts_;
    c.alerts_send_hwm = 10000000;
    c.control_endpoint = control_;
    for (int f = 0; f < 4; ++f) {
      // Quiet feeds (custody, check) must not raise feed_silent mid-run.
      c.feeds.push_back({.name = kFeeds[f],
                         .endpoint = feed_endpoints_[f],
                         .replay = "",
                         .silent_after_s = 86400});
    }
    c.security.mode = "none";
    // Nobody acknowledges during a benchmark: keep escalations out of it.
    c.policy.ack_sla_s = {.critical_s = 86400, .high_s = 86400, .medium_s = 86400};
    c.metrics_endpoint = "tcp://127.0.0.1:" + std::to_string(metrics_port_);
    c.log_level = opt_.log_level;
    if (opt_.drain_budget > 0) c.intake_drain_budget = opt_.drain_budget;
    return c;
  }

  void WriteConfig() {
    std::ofstream(dir_ + "/breachwatch.toml") << RenderConfig(DaemonConfig()) << "\n";
  }

  // Starts the daemon; returns seconds from exec to READY=1 (sd_notify), or < 0.
  double Start() {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log_path = dir_ + "/daemon.log";
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string config = dir_ + "/breachwatch.toml";
    std::vector<std::string> args = {opt_.daemon, "--config", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // READY=1 over NOTIFY_SOCKET (as systemd would see it) marks the end of start-up:
    // a status request cannot, because it counts the store's rows first, which with a
    // million instruments takes longer than a readiness probe should wait.
    const std::string notify_path = dir_ + "/notify.sock";
    ::unlink(notify_path.c_str());
    int notify_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un na{};
    na.sun_family = AF_UNIX;
    std::snprintf(na.sun_path, sizeof na.sun_path, "%s", notify_path.c_str());
    ::bind(notify_fd, reinterpret_cast<sockaddr*>(&na), sizeof na);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0) env_strings.emplace_back(*e);
    }
    env_strings.push_back("NOTIFY_SOCKET=" + notify_path);
    std::vector<char*> envp;
    for (auto& kv : env_strings) envp.push_back(kv.data());
    envp.push_back(nullptr);
    const int64_t t0 = NowNs();
    if (posix_spawn(&pid_, opt_.daemon.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
      posix_spawn_file_actions_destroy(&actions);
      ::close(notify_fd);
      return -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    const int64_t deadline = t0 + int64_t{900} * 1000000000;
    double took = -1;
    while (NowNs() < deadline && took < 0) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ::close(notify_fd);
        return -1;
      }
      pollfd pfd{notify_fd, POLLIN, 0};
      if (::poll(&pfd, 1, 50) > 0) {
        char buf[4096];
        const ssize_t n = ::recv(notify_fd, buf, sizeof buf - 1, 0);
        if (n > 0 && std::string_view(buf, static_cast<size_t>(n)).find("READY=1") !=
                         std::string_view::npos) {
          took = Seconds(NowNs() - t0);
        }
      }
    }
    ::close(notify_fd);
    if (took < 0) return -1;
    // Then the control socket must answer (however long the row counts take).
    ControlClient client(ctx_, control_, 120000);
    auto r = client.Call("status", {{"officer_id", "bw-load"}, {"reason", "readiness"}});
    if (!r.ok() || !r->contains("ok") || !r->at("ok").as_bool()) return -1;
    for (auto& f : feeds_) AwaitSubscription(*f);
    if (!receiver_) {
      receiver_ = std::make_unique<Receiver>(ctx_, alerts_);
      std::this_thread::sleep_for(milliseconds(300));  // the subscription reaches the daemon
    }
    return took;
  }

  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 15000; ++i) {  // 5 minutes: a big state takes a while to free
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  void AwaitSubscription(zmq::socket_t& s) {
    for (int i = 0; i < 200; ++i) {
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(50));
      if (item.revents & ZMQ_POLLIN) {
        zmq::message_t m;
        while (s.recv(m, zmq::recv_flags::dontwait)) {
          if (m.size() > 0 && m.data<char>()[0] == 1) return;
        }
      }
    }
  }

  void Send(int feed, const std::string& json) {
    feeds_[feed]->send(zmq::buffer(kFeeds[feed], std::strlen(kFeeds[feed])),
                       zmq::send_flags::sndmore);
    feeds_[feed]->send(zmq::buffer(json), zmq::send_flags::none);
    ++sent_[feed];
  }
  int64_t sent(int feed) const { return sent_[feed]; }

  // Messages of `feed` the daemon has finished with (handled, rejected or duplicate).
  int64_t Done(int feed) {
    const std::string m = HttpGetMetrics(metrics_port_);
    if (m.empty()) return -1;
    const std::string label = std::string("feed=\"") + kFeeds[feed] + "\"";
    return static_cast<int64_t>(MetricValue(m, "breachwatch_feed_handled_total", label) +
                                MetricValue(m, "breachwatch_feed_rejected_total", label) +
                                MetricValue(m, "breachwatch_feed_duplicates_total", label));
  }
  std::string Metrics() { return HttpGetMetrics(metrics_port_); }

  // Waits until the daemon has finished every message sent on every feed.
  bool AwaitDrained(double timeout_s, double* took_s = nullptr) {
    const int64_t t0 = NowNs();
    while (Seconds(NowNs() - t0) < timeout_s) {
      bool all = true;
      for (int f = 0; f < 4 && all; ++f) all = Done(f) >= sent_[f];
      if (all) {
        if (took_s) *took_s = Seconds(NowNs() - t0);
        return true;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  Receiver& receiver() { return *receiver_; }
  zmq::context_t& ctx() { return ctx_; }

 private:
  Options opt_;
  std::string dir_;
  zmq::context_t ctx_{1};
  std::unique_ptr<zmq::socket_t> feeds_[4];
  std::string feed_endpoints_[4];
  std::string alerts_, control_;
  int metrics_port_ = 0;
  pid_t pid_ = -1;
  int64_t sent_[4] = {0, 0, 0, 0};
  std::unique_ptr<Receiver> receiver_;
  std::string pg_database_;
  std::string pg_conninfo_;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------
// What must arrive, and what did.
struct Want {
  uint64_t event;
  int64_t sched_ns;
  Kind kind;
  int count;
  int64_t sent_ns = 0;  // when this tool actually sent it (0: not recorded)
};

// Where an alerting event's latency went, in ms: this tool's sending late (scheduled -> sent),
// the way to the daemon and the wait there before its batch was decided (sent -> raised_at,
// whose millisecond is floored, so it reads up to 1 ms short), and the rest: the batch's
// matching, its commit, the publish and the delivery (raised_at -> arrival).
struct LatencyParts {
  double send_late_ms = NAN;
  double to_decided_ms = NAN;
  double decided_to_alert_ms = NAN;
};

struct Reconciled {
  int64_t events = 0;           // events in the range
  int64_t expected_alerts = 0;  // alerts the generator expects
  int64_t matched = 0;          // of those, received
  int64_t lost = 0;             // expected, not received
  int64_t unexpected = 0;       // received, caused by a load event, not expected (or too many)
  int64_t grant_alerts = 0;     // caused by a grant (none expected)
  int64_t other_alerts = 0;     // not caused by a load event (feed health etc.)
  int64_t expected_by_kind[static_cast<int>(Kind::kCount)] = {};
  int64_t matched_by_kind[static_cast<int>(Kind::kCount)] = {};
  std::vector<double> latency_ms;  // per alerting event: scheduled send -> last of its alerts
  std::vector<int64_t> latency_sched_ns;  // the scheduled send of each latency_ms entry
  std::vector<LatencyParts> latency_parts;  // the parts of each latency_ms entry
  int64_t last_arrival_ns = 0;
  bool ok() const { return lost == 0 && unexpected == 0 && grant_alerts == 0; }
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Compares the wants of events [lo, hi) with the arrivals.  Arrivals not caused
// by a load event are counted only when count_others.
Reconciled Reconcile(const std::vector<Want>& wants, const std::vector<Arrival>& arrivals,
                     uint64_t lo, uint64_t hi, bool count_others) {
  Reconciled r;
  r.events = static_cast<int64_t>(hi - lo);
  struct Got {
    int n[static_cast<int>(Kind::kCount)] = {};
    int64_t last_ns = 0;
    int64_t last_raised_ns = 0;  // raised_at of the alert that arrived last
  };
  std::unordered_map<uint64_t, Got> got;
  for (const auto& a : arrivals) {
    if (a.grant) {
      if (count_others) ++r.grant_alerts;
      continue;
    }
    if (a.event == 0) {
      if (count_others) ++r.other_alerts;
      continue;
    }
    if (a.event < lo || a.event >= hi) continue;
    Got& g = got[a.event];
    ++g.n[static_cast<int>(a.kind)];
    if (a.at_ns >= g.last_ns) {
      g.last_ns = a.at_ns;
      g.last_raised_ns = a.raised_ns;
    }
    r.last_arrival_ns = std::max(r.last_arrival_ns, a.at_ns);
  }
  auto first = std::lower_bound(wants.begin(), wants.end(), lo,
                                [](const Want& w, uint64_t id) { return w.event < id; });
  uint64_t prev_event = 0;
  for (auto it = first; it != wants.end() && it->event < hi; ++it) {
    r.expected_alerts += it->count;
    auto g = got.find(it->event);
    int have = g == got.end() ? 0 : g->second.n[static_cast<int>(it->kind)];
    r.matched += std::min(have, it->count);
    r.expected_by_kind[static_cast<int>(it->kind)] += it->count;
    r.matched_by_kind[static_cast<int>(it->kind)] += std::min(have, it->count);
    if (have < it->count) r.lost += it->count - have;
    if (have > it->count) r.unexpected += have - it->count;
    if (g != got.end()) {
      g->second.n[static_cast<int>(it->kind)] = 0;  // consumed
      if (it->event != prev_event && have >= it->count) {
        r.latency_ms.push_back(static_cast<double>(g->second.last_ns - it->sched_ns) / 1e6);
        r.latency_sched_ns.push_back(it->sched_ns);
        LatencyParts parts;
        if (it->sent_ns > 0)
          parts.send_late_ms = static_cast<double>(it->sent_ns - it->sched_ns) / 1e6;
        if (g->second.last_raised_ns != 0) {
          parts.decided_to_alert_ms =
              static_cast<double>(g->second.last_ns - g->second.last_raised_ns) / 1e6;
          if (it->sent_ns > 0) {
            parts.to_decided_ms = static_cast<double>(g->second.last_raised_ns - it->sent_ns) / 1e6;
          }
        }
        r.latency_parts.push_back(parts);
      }
    }
    prev_event = it->event;
  }
  for (const auto& [id, g] : got) {
    for (int k = 0; k < static_cast<int>(Kind::kCount); ++k) r.unexpected += g.n[k];
  }
  return r;
}

// ---------------------------------------------------------------------------
// A run: population, daemon, stream, bookkeeping.
struct Phase {
  std::string name;
  double rate = 0;        // scheduled events/s (0: all at once)
  double duration_s = 0;  // scheduled
  double send_s = 0;      // actual time taken to send
  Reconciled rec;
  bool drained = false;
  double drain_after_s = 0;  // after the last scheduled send
  int64_t start_ns = 0;      // the schedule's start (event 0)
  bool pass = false;
};

// The commit profile of a run: the daemon's batches (breachwatch_commit_seconds: time to
// handle and commit one batch) and CPU over the wall time; on PostgreSQL also the server:
// its processes' CPU, the statements' execution time (pg_stat_statements, when loaded), the
// WAL's records, writes and fsyncs (pg_stat_wal) and the transactions committed.
class StoreProfile {
 public:
  explicit StoreProfile(Harness& h) : h_(h) {}
  void Start() {
    const std::string m = h_.Metrics();
    commits0_ = MetricValue(m, "breachwatch_commit_seconds_count", "");
    commit_s0_ = MetricValue(m, "breachwatch_commit_seconds_sum", "");
    dedup_reads0_ = MetricValue(m, "breachwatch_dedup_journal_reads_total", "");
    cpu0_ = CpuMs(h_.pid());
    t0_ = NowNs();
    if (!h_.postgres()) return;
    PgSession db(h_.pg_conninfo());
    db.Query("SELECT pg_stat_statements_reset()");
    db.Query("SELECT pg_stat_reset_shared('wal')");
    xact0_ = Int(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
    server_cpu0_ = ServerCpuMs(db);
  }
  boost::json::object Finish() {
    boost::json::object o;
    const std::string m = h_.Metrics();
    const double wall = Seconds(NowNs() - t0_);
    const double commits = MetricValue(m, "breachwatch_commit_seconds_count", "") - commits0_;
    const double commit_s = MetricValue(m, "breachwatch_commit_seconds_sum", "") - commit_s0_;
    const double cpu = CpuMs(h_.pid()) - cpu0_;
    o["wall_s"] = wall;
    o["batches"] = commits;
    o["batch_handle_commit_s"] = commit_s;
    o["batch_share_of_wall"] = wall > 0 ? commit_s / wall : 0;
    o["batch_mean_ms"] = commits > 0 ? commit_s * 1000 / commits : 0;
    o["daemon_cpu_share"] = wall > 0 ? cpu / 1000 / wall : 0;
    const double dedup_reads =
        MetricValue(m, "breachwatch_dedup_journal_reads_total", "") - dedup_reads0_;
    o["dedup_journal_reads"] = dedup_reads;
    std::printf(
        "profile: %.0f batches in %.1f s, %.1f%% of the wall time handling and committing "
        "them (mean %.2f ms); daemon CPU %.0f%% of a core; %.0f duplicate check(s) read the "
        "journal\n",
        commits, wall, wall > 0 ? 100 * commit_s / wall : 0.0,
        commits > 0 ? commit_s * 1000 / commits : 0.0, wall > 0 ? cpu / 10 / wall : 0.0,
        dedup_reads);
    if (!h_.postgres()) return o;
    PgSession db(h_.pg_conninfo());
    const double server_cpu = ServerCpuMs(db) - server_cpu0_;
    o["server_cpu_share"] = wall > 0 ? server_cpu / 1000 / wall : 0;
    o["server_xact_commits"] =
        Int(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()") -
        xact0_;
    auto wal = db.Query(
        "SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_write_time, wal_sync_time "
        "FROM pg_stat_wal");
    if (!wal.empty()) {
      o["wal_records"] = std::stoll(wal[0][0]);
      o["wal_bytes"] = std::stoll(wal[0][1]);
      o["wal_writes"] = std::stoll(wal[0][2]);
      o["wal_syncs"] = std::stoll(wal[0][3]);
      o["wal_write_ms"] = std::stod(wal[0][4]);
      o["wal_sync_ms"] = std::stod(wal[0][5]);
      std::printf(
          "server: %.0f%% of a core; WAL %s records, %s bytes, %s writes, %s fsyncs "
          "(%.0f ms in fsync, %.0f ms in write: track_wal_io_timing)\n",
          wall > 0 ? server_cpu / 10 / wall : 0.0, wal[0][0].c_str(), wal[0][1].c_str(),
          wal[0][2].c_str(), wal[0][3].c_str(), std::stod(wal[0][5]), std::stod(wal[0][4]));
    }
    auto top = db.Query(
        "SELECT calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) "
        "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
        "current_database()) ORDER BY total_exec_time DESC LIMIT 8");
    boost::json::array statements;
    for (const auto& r : top) {
      statements.push_back(
          {{"calls", std::stoll(r[0])}, {"total_ms", std::stod(r[1])}, {"query", r[2]}});
      std::printf("  %10s calls %10.1f ms  %s\n", r[0].c_str(), std::stod(r[1]), r[2].c_str());
    }
    o["statements"] = std::move(statements);
    return o;
  }

 private:
  static int64_t Int(PgSession& db, const std::string& sql) {
    auto rows = db.Query(sql);
    return rows.empty() ? 0 : std::stoll(rows[0][0]);
  }
  // CPU of the cluster's processes (backends, WAL writer, checkpointer...) so far.
  static double ServerCpuMs(PgSession& db) {
    double sum = 0;
    for (const auto& r : db.Query("SELECT pid FROM pg_stat_activity")) {
      const double ms = CpuMs(static_cast<pid_t>(std::stol(r[0])));
      if (ms > 0) sum += ms;
    }
    return sum;
  }
  Harness& h_;
  double commits0_ = 0, commit_s0_ = 0, cpu0_ = 0, server_cpu0_ = 0, dedup_reads0_ = 0;
  int64_t xact0_ = 0;
  int64_t t0_ = 0;
};

class LoadRun {
 public:
  LoadRun(const Options& opt, const LondonData& london, int persons, Mix mix)
      : opt_(opt), h_(opt) {
    const int64_t t0 = NowNs();
    pop_ = std::make_unique<Population>(london, persons, mix, opt.seed);
    gen_s_ = Seconds(NowNs() - t0);
    stream_ = std::make_unique<EventStream>(*pop_, opt.seed + 1,
                                            *ParseRfc3339("2026-11-16T00:00:00Z"));
  }
  Harness& harness() { return h_; }
  Population& population() { return *pop_; }
  double generate_s() const { return gen_s_; }

  // Sends every grant; waits until stored.  Returns seconds, < 0 on time-out.  At most
  // kGrantsInFlight grants are sent ahead of what the daemon has finished, fewer than its feed
  // queue holds ([intake] feed_queue_max, 10,000 by default): a population of a million sent at
  // once kept the daemon's feed socket at its high-water mark for minutes and once aborted it
  // inside libzmq (docs/reliability.md, known limits).  Loading is not a figure of the page.
  double LoadPopulation() {
    constexpr int64_t kGrantsInFlight = 8000;
    const int64_t t0 = NowNs();
    int64_t n = 0;
    int64_t done = 0;
    stream_->Grants([&](GenEvent&& e) {
      while (n - done >= kGrantsInFlight && Seconds(NowNs() - t0) < 1800) {
        std::this_thread::sleep_for(milliseconds(10));
        done = std::max<int64_t>(done, h_.Done(0));
      }
      h_.Send(0, e.json);
      ++n;
    });
    if (!h_.AwaitDrained(1800)) return -1;
    grants_ = n;
    return Seconds(NowNs() - t0);
  }
  int64_t grants() const { return grants_; }

  // Pre-generates `n` events (the last one a breach, as a sentinel) and sends
  // them on schedule: event k at start + k / rate (rate 0: all at once).
  // `action`, when given, runs once just before event `action_at` is sent.
  Phase RunPhase(const std::string& name, double rate, int64_t n, bool positions_only,
                 double drain_timeout_s, int64_t action_at = -1,
                 const std::function<void()>& action = nullptr) {
    Phase ph;
    ph.name = name;
    ph.rate = rate;
    ph.duration_s = rate > 0 ? static_cast<double>(n) / rate : 0;
    std::vector<GenEvent> events(static_cast<size_t>(n));
    const uint64_t lo = next_id_;
    for (int64_t k = 0; k < n; ++k) {
      if (k + 1 == n) {
        stream_->Breach(next_id_++, &events[k]);
      } else {
        stream_->Next(next_id_++, &events[k], positions_only);
      }
    }
    const uint64_t hi = next_id_;
    const int64_t start = NowNs() + (rate > 0 ? 20000000 : 0);  // paced: 20 ms from now
    ph.start_ns = start;
    const double interval_ns = rate > 0 ? 1e9 / rate : 0;
    std::vector<Want> wants;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t sched = start + static_cast<int64_t>(interval_ns * static_cast<double>(k));
      if (rate > 0) {
        // Never early, never spinning (the daemon needs the CPU): a late wake-up
        // counts against the measured latency, which is the honest direction.
        const int64_t now = NowNs();
        if (sched > now) std::this_thread::sleep_for(std::chrono::nanoseconds(sched - now));
      }
      if (k == action_at && action) action();
      const GenEvent& e = events[k];
      const int64_t sent = NowNs();
      h_.Send(e.feed, e.json);
      for (int x = 0; x < e.n_expected; ++x) {
        wants.push_back({lo + static_cast<uint64_t>(k), rate > 0 ? sched : start,
                         e.expected[x].kind, e.expected[x].count, sent});
      }
    }
    const int64_t sent_at = NowNs();
    ph.send_s = Seconds(sent_at - start);
    events.clear();
    events.shrink_to_fit();
    const int64_t sched_end = start + static_cast<int64_t>(interval_ns * static_cast<double>(n));
    double took = 0;
    // At least 500 events/s: a slow daemon is measured, not cut off (and then
    // counted as losing what it had not reached).
    ph.drained = h_.AwaitDrained(std::max(drain_timeout_s, static_cast<double>(n) / 500), &took);
    // Everything handled; its alerts were published after commit: let them arrive.
    int64_t expected_alerts = 0;
    for (const auto& w : wants) expected_alerts += w.count;
    Reconciled rec;
    for (int i = 0; i < 100; ++i) {
      rec = Reconcile(wants, h_.receiver().Snapshot(), lo, hi, false);
      if (rec.matched >= expected_alerts) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ph.rec = std::move(rec);
    ph.drain_after_s =
        ph.rec.last_arrival_ns > 0 ? Seconds(std::max(ph.rec.last_arrival_ns, sent_at) -
                                             (rate > 0 ? sched_end : start))
                                   : took;
    all_wants_.insert(all_wants_.end(), wants.begin(), wants.end());
    return ph;
  }

  // The whole session: every want against every arrival, plus feed-health alerts.
  Reconciled ReconcileAll() {
    return Reconcile(all_wants_, h_.receiver().Snapshot(), 1, next_id_, true);
  }

  // After Stop(): every event sent is stored once as handled (per source).
  struct StoreCheck {
    bool ok = false;
    std::string detail;
    int64_t handled = 0, rejected = 0, alerts = 0, max_alert_seq = 0, distinct_alert_ids = 0;
  };
  StoreCheck CheckStore() {
    StoreCheck c;
    // One integer from `sql` ($1: `arg`, when given), on the daemon's store of either backend.
    std::function<int64_t(const std::string&, const char*)> scalar;
    sqlite3* db = nullptr;
    std::unique_ptr<PgSession> pg;
    if (h_.postgres()) {
      pg = std::make_unique<PgSession>(h_.pg_conninfo());
      if (!pg->ok()) {
        c.detail = "cannot connect to the store: " + pg->error();
        return c;
      }
      scalar = [&](const std::string& sql, const char* arg) -> int64_t {
        auto rows = arg ? pg->Query(sql, {arg}) : pg->Query(sql);
        return rows.empty() ? -1 : std::stoll(rows[0][0]);
      };
    } else {
      if (sqlite3_open_v2((h_.dir() + "/breachwatch.db").c_str(), &db, SQLITE_OPEN_READONLY,
                          nullptr) != SQLITE_OK) {
        c.detail = "cannot open the store";
        return c;
      }
      scalar = [&](const std::string& sql, const char* arg) {
        std::string q = sql;
        if (auto at = q.find("$1"); at != std::string::npos) q.replace(at, 2, "?1");
        sqlite3_stmt* st = nullptr;
        int64_t v = -1;
        if (sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr) == SQLITE_OK) {
          if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
          if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        return v;
      };
    }
    std::ostringstream detail;
    bool ok = true;
    for (int f = 0; f < 4; ++f) {
      const int64_t n = scalar("SELECT COUNT(*) FROM inbound WHERE result='handled' AND source=$1",
                               kSourceNames[f]);
      const int64_t distinct =
          scalar("SELECT COUNT(DISTINCT msg_id) FROM inbound WHERE result='handled' AND source=$1",
                 kSourceNames[f]);
      c.handled += n;
      const bool fine = n == h_.sent(f) && distinct == h_.sent(f);
      ok = ok && fine;
      detail << kSourceNames[f] << " sent " << h_.sent(f) << " stored " << n << " distinct "
             << distinct << (fine ? "" : " MISMATCH") << "; ";
    }
    c.rejected = scalar("SELECT COUNT(*) FROM inbound WHERE result='rejected'", nullptr);
    c.alerts = scalar("SELECT COUNT(*) FROM alerts", nullptr);
    c.max_alert_seq = scalar("SELECT COALESCE(MAX(seq),0) FROM alerts", nullptr);
    c.distinct_alert_ids = scalar("SELECT COUNT(DISTINCT alert_id) FROM alerts", nullptr);
    if (db != nullptr) sqlite3_close(db);
    if (c.rejected != 0) ok = false;
    if (c.alerts != c.max_alert_seq || c.alerts != c.distinct_alert_ids) ok = false;
    detail << "rejected " << c.rejected << "; alerts " << c.alerts << " max seq "
           << c.max_alert_seq << " distinct ids " << c.distinct_alert_ids;
    c.ok = ok;
    c.detail = detail.str();
    return c;
  }

 private:
  Options opt_;
  Harness h_;
  std::unique_ptr<Population> pop_;
  std::unique_ptr<EventStream> stream_;
  double gen_s_ = 0;
  int64_t grants_ = 0;
  uint64_t next_id_ = 1;
  std::vector<Want> all_wants_;
};

// ---------------------------------------------------------------------------
// Reporting.

// The events slower than the phase's p99, by where their latency went (LatencyParts): the median
// of each part, and how many spent most of their latency in each.
struct TailParts {
  int64_t events = 0;
  double send_late_ms = NAN, to_decided_ms = NAN, decided_to_alert_ms = NAN;
  int64_t mostly[3] = {};
};
TailParts TailOf(const Phase& p) {
  TailParts t;
  const double p99 = Percentile(p.rec.latency_ms, 0.99);
  if (std::isnan(p99)) return t;
  std::vector<double> parts[3];
  for (size_t i = 0; i < p.rec.latency_ms.size(); ++i) {
    if (p.rec.latency_ms[i] <= p99) continue;
    const LatencyParts& lp = p.rec.latency_parts[i];
    const double v[3] = {lp.send_late_ms, lp.to_decided_ms, lp.decided_to_alert_ms};
    if (std::isnan(v[0]) || std::isnan(v[1]) || std::isnan(v[2])) continue;
    ++t.events;
    for (int k = 0; k < 3; ++k) parts[k].push_back(v[k]);
    ++t.mostly[std::max_element(v, v + 3) - v];
  }
  if (t.events == 0) return t;
  t.send_late_ms = Percentile(parts[0], 0.5);
  t.to_decided_ms = Percentile(parts[1], 0.5);
  t.decided_to_alert_ms = Percentile(parts[2], 0.5);
  return t;
}

boost::json::object PhaseJson(const Phase& p) {
  boost::json::object o;
  o["name"] = p.name;
  o["rate"] = p.rate;
  o["events"] = p.rec.events;
  o["scheduled_s"] = p.duration_s;
  o["send_s"] = p.send_s;
  // The schedule's start on the steady clock (CLOCK_MONOTONIC), to line the slowest events up with
  // a trace of the daemon taken with `perf record -k mono`.
  o["start_monotonic_ns"] = p.start_ns;
  o["drained"] = p.drained;
  o["drain_after_s"] = p.drain_after_s;
  o["expected_alerts"] = p.rec.expected_alerts;
  o["matched"] = p.rec.matched;
  o["lost"] = p.rec.lost;
  o["unexpected"] = p.rec.unexpected;
  o["alerting_events"] = static_cast<int64_t>(p.rec.latency_ms.size());
  auto num = [](double v) { return std::isnan(v) ? boost::json::value(nullptr) : boost::json::value(v); };
  o["p50_ms"] = num(Percentile(p.rec.latency_ms, 0.50));
  o["p99_ms"] = num(Percentile(p.rec.latency_ms, 0.99));
  o["p999_ms"] = num(Percentile(p.rec.latency_ms, 0.999));
  o["max_ms"] = num(Percentile(p.rec.latency_ms, 1.0));
  // The latency distribution, for the CDF picture: [ms, fraction of alerting events <= ms].
  if (!p.rec.latency_ms.empty()) {
    std::vector<double> sorted = p.rec.latency_ms;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> qs;
    for (int i = 1; i <= 190; ++i) qs.push_back(i / 200.0);
    for (double q : {0.955, 0.96, 0.965, 0.97, 0.975, 0.98, 0.985, 0.99, 0.9925, 0.995, 0.9975,
                     0.999, 0.9995, 1.0}) {
      qs.push_back(q);
    }
    boost::json::array cdf;
    for (double q : qs) {
      size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size()))) - 1;
      boost::json::array point;
      point.push_back(sorted[std::min(i, sorted.size() - 1)]);
      point.push_back(q);
      cdf.push_back(std::move(point));
    }
    o["cdf"] = std::move(cdf);
    // The 20 slowest alerting events as [seconds after the phase's start (scheduled), ms,
    // then its parts (LatencyParts) in ms: scheduled -> sent, sent -> decided, decided -> alert]:
    // whether the tail is one stall (close together) or spread over the run, and where it was.
    std::vector<size_t> order(p.rec.latency_ms.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const size_t n = std::min<size_t>(20, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                      [&](size_t a, size_t b) { return p.rec.latency_ms[a] > p.rec.latency_ms[b]; });
    boost::json::array slowest;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = order[k];
      boost::json::array point;
      point.push_back(Seconds(p.rec.latency_sched_ns[i] - p.start_ns));
      point.push_back(p.rec.latency_ms[i]);
      const LatencyParts& parts = p.rec.latency_parts[i];
      point.push_back(num(parts.send_late_ms));
      point.push_back(num(parts.to_decided_ms));
      point.push_back(num(parts.decided_to_alert_ms));
      slowest.push_back(std::move(point));
    }
    o["slowest"] = std::move(slowest);
    const TailParts tail = TailOf(p);
    boost::json::object t;
    t["events"] = tail.events;
    t["send_late_ms_median"] = num(tail.send_late_ms);
    t["to_decided_ms_median"] = num(tail.to_decided_ms);
    t["decided_to_alert_ms_median"] = num(tail.decided_to_alert_ms);
    t["mostly_send_late"] = tail.mostly[0];
    t["mostly_to_decided"] = tail.mostly[1];
    t["mostly_decided_to_alert"] = tail.mostly[2];
    o["tail_over_p99"] = std::move(t);
  }
  o["pass"] = p.pass;
  return o;
}

// Latency of the events scheduled in [from_s, to_s) after the phase's start.
struct Window {
  int64_t n = 0;
  double p50 = NAN, p99 = NAN, max = NAN;
};
Window LatencyWindow(const Phase& p, double from_s, double to_s) {
  std::vector<double> v;
  for (size_t i = 0; i < p.rec.latency_ms.size(); ++i) {
    const double t = Seconds(p.rec.latency_sched_ns[i] - p.start_ns);
    if (t >= from_s && t < to_s) v.push_back(p.rec.latency_ms[i]);
  }
  Window w;
  w.n = static_cast<int64_t>(v.size());
  if (!v.empty()) {
    w.p50 = Percentile(v, 0.5);
    w.p99 = Percentile(v, 0.99);
    w.max = Percentile(v, 1.0);
  }
  return w;
}
boost::json::object WindowJson(const Window& w) {
  auto num = [](double v) { return std::isnan(v) ? boost::json::value(nullptr) : boost::json::value(v); };
  boost::json::object o;
  o["alerting_events"] = w.n;
  o["p50_ms"] = num(w.p50);
  o["p99_ms"] = num(w.p99);
  o["max_ms"] = num(w.max);
  return o;
}

void PrintPhase(const Phase& p) {
  std::printf(
      "%-16s rate %9.0f/s events %9lld sent in %6.2fs  drained %s (+%.3fs)  alerts %lld/%lld "
      "lost %lld unexpected %lld  latency ms p50 %.2f p99 %.2f p99.9 %.2f max %.2f  %s\n",
      p.name.c_str(), p.rate, static_cast<long long>(p.rec.events), p.send_s,
      p.drained ? "yes" : "NO", p.drain_after_s, static_cast<long long>(p.rec.matched),
      static_cast<long long>(p.rec.expected_alerts), static_cast<long long>(p.rec.lost),
      static_cast<long long>(p.rec.unexpected), Percentile(p.rec.latency_ms, 0.5),
      Percentile(p.rec.latency_ms, 0.99), Percentile(p.rec.latency_ms, 0.999),
      Percentile(p.rec.latency_ms, 1.0), p.pass ? "PASS" : "fail");
  if (const TailParts t = TailOf(p); t.events > 0) {
    std::printf(
        "  tail: %lld events over p99; median ms sent late %.2f, sent->decided %.2f, "
        "decided->alert %.2f; mostly in each: %lld / %lld / %lld\n",
        static_cast<long long>(t.events), t.send_late_ms, t.to_decided_ms, t.decided_to_alert_ms,
        static_cast<long long>(t.mostly[0]), static_cast<long long>(t.mostly[1]),
        static_cast<long long>(t.mostly[2]));
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace bw::load

int main(int argc, char** argv) {
  using namespace bw::load;
  CLI::App app{"bw-load - a realistic population played against breachwatchd, open loop"};
  Options opt;
  std::string mode = "fixed", json_out;
  int persons = 100000;
  double rate = 20000, duration_s = 20, ladder_start = 5000, step_s = 8, p99_ms = 10,
         latency_s = 20;
  int64_t backlog = 400000, instruments = 0;
  int bisect = 3, restarts = 3, latency_repeats = 1, stall_commits = 1;
  double stall_ms = 1000, stall_at_s = 10;
  bool smoke = false;
  app.add_option("--mode", mode, "fixed | ladder | backlog | startup | rss | fault")
      ->check(CLI::IsMember({"fixed", "ladder", "backlog", "startup", "rss", "fault"}))
      ->capture_default_str();
  app.add_flag("--smoke", smoke,
               "short correctness run (2,000 persons, fixed + backlog); no timing assertions");
  app.add_option("--persons", persons, "persons under instruments")->capture_default_str();
  app.add_option("--rate", rate, "fixed mode: events/s")->capture_default_str();
  app.add_option("--duration-s", duration_s, "fixed mode: seconds")->capture_default_str();
  app.add_option("--ladder-start", ladder_start, "ladder: first rate")->capture_default_str();
  app.add_option("--step-s", step_s, "ladder: seconds per step")->capture_default_str();
  app.add_option("--bisect", bisect, "ladder: bisection steps after the first failure")
      ->capture_default_str();
  app.add_option("--latency-s", latency_s, "ladder: seconds of the run at 50% of the maximum")
      ->capture_default_str();
  app.add_option("--latency-repeats", latency_repeats,
                 "ladder: runs at 50% of the maximum (the median p99's run is reported)")
      ->capture_default_str();
  app.add_option("--stall-ms", stall_ms, "fault mode: how long each stalled commit waits")
      ->capture_default_str();
  app.add_option("--stall-commits", stall_commits, "fault mode: commits stalled")
      ->capture_default_str();
  app.add_option("--stall-at-s", stall_at_s, "fault mode: seconds into the run")
      ->capture_default_str();
  app.add_option("--p99-ms", p99_ms, "ladder: p99 latency a sustained step must keep")
      ->capture_default_str();
  app.add_option("--restarts", restarts, "startup mode: timed restarts (median reported)")
      ->capture_default_str();
  app.add_option("--backlog", backlog, "backlog mode: fixes sent at once")->capture_default_str();
  app.add_option("--instruments", instruments,
                 "startup mode: instruments to store (persons = instruments / 1.5)");
  app.add_option("--daemon", opt.daemon, "breachwatchd binary")->capture_default_str();
  app.add_option("--source-dir", opt.source_dir, "repository (config/zones)")
      ->capture_default_str();
  app.add_option("--shared-data", opt.shared_dir, "shared/data directory")->capture_default_str();
  app.add_option("--dir", opt.dir, "working directory (default: a fresh /tmp/bw-load-*)");
  app.add_flag("--keep", opt.keep, "keep the working directory");
  app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
  app.add_option("--drain-budget", opt.drain_budget,
                 "[intake] drain_budget for the daemon (messages per batch/commit); 0: default");
  app.add_option("--log-level", opt.log_level, "daemon log level")->capture_default_str();
  app.add_option("--pg", opt.pg,
                 "run on the PostgreSQL backend: the admin conninfo of a cluster in which a "
                 "fresh database is the daemon's store (e.g. \"host=/tmp/bw-pg port=5432 "
                 "user=postgres dbname=postgres\")");
  app.add_option("--json", json_out, "write the figures here (JSON)");
  CLI11_PARSE(app, argc, argv);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up in logs as they happen
  if (smoke) persons = 2000;
  prctl(PR_SET_TIMERSLACK, 1UL);  // precise sleeps for the schedule
  if (mode == "startup" && instruments > 0) persons = static_cast<int>(instruments / 1.5);

  auto london = LoadLondon(opt.source_dir, opt.shared_dir);
  if (!london.ok()) {
    std::cerr << "bw-load: " << london.status().ToString() << "\n";
    return 2;
  }
  boost::json::object report;
  report["mode"] = smoke ? "smoke" : mode;
  report["persons"] = persons;
  report["drain_budget"] = opt.drain_budget;
  boost::json::array phases;
  std::vector<std::pair<std::string, bool>> checks;

  LoadRun run(opt, *london, persons, mode == "rss" ? Mix::kOneZone : Mix::kMixed);
  Harness& h = run.harness();
  const std::string fault_plan = h.dir() + "/faults";
  if (mode == "fault") {
    // The daemon's storage fault seam (daemon/fault_injecting_store.h), read at every Begin().
    std::filesystem::remove(fault_plan);
    ::setenv("BREACHWATCH_FAULT_FILE", fault_plan.c_str(), 1);
  }
  report["instruments"] = run.population().instruments();
  report["conditions"] = run.population().conditions();
  report["generate_s"] = run.generate_s();
  report["protected_persons"] = run.population().protected_persons();
  std::printf(
      "bw-load: %d persons, %lld instruments, %lld conditions, %lld protected persons with a "
      "device (generated in %.1f s); dir %s\n",
      persons, static_cast<long long>(run.population().instruments()),
      static_cast<long long>(run.population().conditions()),
      static_cast<long long>(run.population().protected_persons()), run.generate_s(),
      h.dir().c_str());
  const double start_empty = h.Start();
  if (start_empty < 0) {
    std::cerr << "bw-load: breachwatchd did not start; see " << h.dir() << "/daemon.log\n";
    h.set_failed();
    return 2;
  }
  const int64_t rss_base = RssKb(h.pid());
  report["startup_empty_s"] = start_empty;
  report["rss_base_kb"] = rss_base;
  const double load_s = run.LoadPopulation();
  checks.emplace_back("population stored (every grant handled)", load_s >= 0);
  const int64_t rss_loaded = RssKb(h.pid());
  report["load_s"] = load_s;
  report["grants_per_s"] = load_s > 0 ? static_cast<double>(run.grants()) / load_s : 0;
  report["rss_loaded_kb"] = rss_loaded;
  report["rss_per_person_b"] = persons > 0 ? (rss_loaded - rss_base) * 1024.0 / persons : 0;
  std::printf("population loaded in %.1f s (%.0f grants/s); RSS %lld kB -> %lld kB (%.0f B/person)\n",
              load_s, load_s > 0 ? run.grants() / load_s : 0.0, static_cast<long long>(rss_base),
              static_cast<long long>(rss_loaded), (rss_loaded - rss_base) * 1024.0 / persons);

  {
    // The loaded daemon with no traffic: what its timers (tick rules every
    // 500 ms, escalation query) cost, which stalls intake while they run.
    const double cpu0 = CpuMs(h.pid());
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const double idle = (CpuMs(h.pid()) - cpu0) / 5.0;
    report["idle_cpu_ms_per_s"] = idle;
    std::printf("idle daemon with the population loaded: %.1f ms CPU per second\n", idle);
  }

  // What the measured part costs (from here to the daemon's stop): its commits (the daemon's
  // commit histogram), its CPU, and on PostgreSQL the server's side.
  StoreProfile profile(h);
  profile.Start();

  auto add_phase = [&](Phase& p, bool judge_latency) {
    p.pass = p.drained && p.rec.ok() && (!judge_latency || Percentile(p.rec.latency_ms, 0.99) <= p99_ms);
    PrintPhase(p);
    phases.push_back(PhaseJson(p));
    return p.pass;
  };

  if (smoke) {
    Phase warm = run.RunPhase("smoke-fixed", 4000, 12000, false, 120);
    add_phase(warm, false);
    checks.emplace_back("smoke fixed run: alerts as expected, drained", warm.drained && warm.rec.ok());
    Phase bl = run.RunPhase("smoke-backlog", 0, 5000, true, 120);
    add_phase(bl, false);
    checks.emplace_back("smoke backlog: alerts as expected, drained", bl.drained && bl.rec.ok());
  } else if (mode == "fixed") {
    Phase p = run.RunPhase("fixed", rate, static_cast<int64_t>(rate * duration_s), false,
                           duration_s * 10 + 60);
    add_phase(p, true);
    checks.emplace_back("fixed run: alerts as expected, drained", p.drained && p.rec.ok());
  } else if (mode == "ladder") {
    // Two maxima: the highest rate *sustained* (every event finished within a
    // second of the step's end, nothing lost: the backlog does not grow), and the
    // highest rate that also keeps p99 <= --p99-ms (the criterion).
    // Rates double from --ladder-start while sustained, then bisect; if no step
    // meets the latency criterion, rates halve below the lowest tried.
    struct Step {
      double rate;
      bool sustained, latency_ok;
    };
    std::vector<Step> steps;
    int n = 0;
    auto try_rate = [&](double rr) {
      Phase p = run.RunPhase("step" + std::to_string(++n), rr,
                             std::max<int64_t>(static_cast<int64_t>(rr * step_s), 1), false,
                             step_s * 20 + 120);
      const bool latency_ok = add_phase(p, true);
      const bool sustained = p.drained && p.rec.ok() && p.drain_after_s <= 1.0;
      checks.emplace_back("ladder step at " + std::to_string(static_cast<int64_t>(rr)) +
                              "/s: alerts as expected, drained",
                          p.drained && p.rec.ok());
      steps.push_back({rr, sustained, latency_ok});
      h.AwaitDrained(600);  // a failed step's backlog goes before the next step
      std::this_thread::sleep_for(milliseconds(1000));
      return steps.back();
    };
    double sus_pass = 0, sus_fail = 0, r = ladder_start;
    for (;;) {
      Step st = try_rate(r);
      if (!st.sustained) {
        sus_fail = r;
        break;
      }
      sus_pass = r;
      r *= 2;
    }
    for (int i = 0; i < bisect && sus_pass > 0; ++i) {
      const double mid = std::round((sus_pass + sus_fail) / 2 / 250) * 250;
      if (mid <= sus_pass || mid >= sus_fail) break;
      (try_rate(mid).sustained ? sus_pass : sus_fail) = mid;
    }
    auto best_latency = [&] {
      double best = 0;
      for (const auto& st : steps) {
        if (st.latency_ok && st.sustained) best = std::max(best, st.rate);
      }
      return best;
    };
    double lowest = ladder_start;
    for (const auto& st : steps) lowest = std::min(lowest, st.rate);
    while (best_latency() == 0 && lowest / 2 >= 100) {
      lowest /= 2;
      try_rate(lowest);
    }
    const double lat_max = best_latency();
    report["max_sustained_rate"] = sus_pass;
    report["first_unsustained_rate"] = sus_fail;
    report["max_rate_p99_ok"] = lat_max;
    std::printf("highest rate sustained (drained within 1 s, nothing lost): %.0f events/s; "
                "highest also with p99 <= %.0f ms: %.0f events/s\n",
                sus_pass, p99_ms, lat_max);
    // The latency targets are stated at 50% of the sustained maximum (issue 14), not of the
    // highest rate that kept p99 within its target: that would choose the rate by the latency.
    const double base = sus_pass;
    report["half_max_of"] = "max_sustained_rate";
    if (base > 0) {
      boost::json::array runs;
      std::vector<std::pair<double, boost::json::object>> by_p99;
      for (int i = 0; i < std::max(1, latency_repeats); ++i) {
        Phase half = run.RunPhase(latency_repeats > 1 ? "half-max-" + std::to_string(i + 1)
                                                      : std::string("half-max"),
                                  base / 2, static_cast<int64_t>(base / 2 * latency_s), false,
                                  latency_s * 10 + 60);
        add_phase(half, false);
        checks.emplace_back("run at 50% of the maximum" +
                                (latency_repeats > 1 ? " (" + std::to_string(i + 1) + ")"
                                                     : std::string()) +
                                ": alerts as expected, drained",
                            half.drained && half.rec.ok());
        boost::json::object j = PhaseJson(half);
        runs.push_back(j);
        by_p99.emplace_back(Percentile(half.rec.latency_ms, 0.99), std::move(j));
        h.AwaitDrained(600);
        std::this_thread::sleep_for(milliseconds(1000));
      }
      std::sort(by_p99.begin(), by_p99.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      report["half_max"] = by_p99[by_p99.size() / 2].second;
      report["half_max_runs"] = std::move(runs);
    }
  } else if (mode == "fault") {
    // Open loop at --rate; at --stall-at-s the plan file tells the daemon's store to stall
    // its next commits.  Latency is reported per second of schedule and before / during /
    // after the stall; the session's correctness checks below show whether anything was lost.
    const int64_t n = static_cast<int64_t>(rate * duration_s);
    const int64_t at = std::min<int64_t>(static_cast<int64_t>(rate * stall_at_s), n - 1);
    const std::string plan = "stall_commit_ms " + std::to_string(static_cast<int64_t>(stall_ms)) +
                             " " + std::to_string(stall_commits);
    int64_t injected_ns = 0;
    Phase p = run.RunPhase("fault", rate, n, false, duration_s * 10 + 60, at, [&] {
      std::ofstream(fault_plan + ".tmp") << plan << "\n";
      std::filesystem::rename(fault_plan + ".tmp", fault_plan);
      injected_ns = NowNs();
    });
    add_phase(p, false);
    checks.emplace_back("fault run: alerts as expected, drained", p.drained && p.rec.ok());
    const double stall_from = injected_ns > 0 ? Seconds(injected_ns - p.start_ns) : stall_at_s;
    const double stall_to = stall_from + stall_ms * stall_commits / 1000.0;
    // Before: scheduled over a second before the injection (a batch in flight at the
    // injection may be the one stalled).
    const Window before = LatencyWindow(p, 0, std::max(0.0, stall_from - 1));
    const Window during = LatencyWindow(p, stall_from, stall_to);
    const Window after = LatencyWindow(p, stall_to, 1e18);
    const Window all_w = LatencyWindow(p, -1e18, 1e18);
    // The stall must show: an alerting event that arrived in the first half of a stalled
    // commit waited at least the second half.
    checks.emplace_back("the injected stall was seen (max latency " +
                            std::to_string(static_cast<int64_t>(all_w.max)) + " ms >= half of " +
                            std::to_string(static_cast<int64_t>(stall_ms)) + " ms)",
                        !std::isnan(all_w.max) && all_w.max >= 0.5 * stall_ms);
    // Recovery: seconds from the stall's end until every later 1-second window keeps p99
    // within max(2 x the p99 before the stall, --p99-ms).
    const double ok_p99 = std::max(std::isnan(before.p99) ? 0.0 : 2 * before.p99, p99_ms);
    boost::json::array series;
    double recovered_at = stall_to;
    for (double t = 0; t < duration_s; t += 1) {
      const Window w = LatencyWindow(p, t, t + 1);
      boost::json::object o = WindowJson(w);
      o["t_s"] = t;
      series.push_back(std::move(o));
      if (t + 1 > stall_to && !std::isnan(w.p99) && w.p99 > ok_p99) recovered_at = t + 1;
    }
    report["stall_plan"] = plan;
    report["stall_ms"] = stall_ms;
    report["stall_commits"] = stall_commits;
    report["stall_at_s"] = stall_from;
    report["stall_end_s"] = stall_to;
    report["fault_before"] = WindowJson(before);
    report["fault_during"] = WindowJson(during);
    report["fault_after"] = WindowJson(after);
    report["fault_series"] = std::move(series);
    report["recovery_p99_ms"] = ok_p99;
    report["recovered_s_after_stall"] = std::max(0.0, recovered_at - stall_to);
    std::printf("fault: '%s' at %.2f s; p99 before %.2f ms, during %.2f ms, after %.2f ms; max "
                "%.2f ms; p99 back within %.1f ms %.1f s after the stall\n",
                plan.c_str(), stall_from, before.p99, during.p99, after.p99, all_w.max, ok_p99,
                std::max(0.0, recovered_at - stall_to));
  } else if (mode == "backlog") {
    // A minute of normal traffic first, so every person has a previous fix.
    Phase warm = run.RunPhase("warm-up", 0, std::max<int64_t>(persons, 10000), true, 600);
    add_phase(warm, false);
    checks.emplace_back("warm-up: alerts as expected, drained", warm.drained && warm.rec.ok());
    Phase bl = run.RunPhase("backlog", 0, backlog, true, 600);
    add_phase(bl, false);
    checks.emplace_back("backlog: alerts as expected, drained", bl.drained && bl.rec.ok());
    report["backlog_fixes"] = backlog;
    report["backlog_drain_s"] = bl.drain_after_s;
    report["backlog_send_s"] = bl.send_s;
    std::printf("backlog of %lld fixes drained in %.2f s (sending took %.2f s)\n",
                static_cast<long long>(backlog), bl.drain_after_s, bl.send_s);
  } else if (mode == "startup") {
    // A start-up with a snapshot of the engine state (the daemon writes one every
    // snapshot_every_s and after a start-up that replayed) reads it and replays the journal after
    // it; without one the whole journal is replayed.  The first start is made without one (any
    // snapshot written while the population loaded is removed): a full replay.  The daemon then
    // writes a snapshot of everything (waited for here: it is renamed into place when complete),
    // and the starts after it begin from that snapshot, as a running daemon's restart would.
    const std::string snapshot = h.dir() + "/breachwatch.db.snapshot";
    std::vector<double> full, from_snapshot;
    int64_t rss_after = 0;
    h.Stop();
    for (int i = 0; i < restarts; ++i) {
      if (i == 0) std::filesystem::remove(snapshot);
      const bool had_snapshot = std::filesystem::exists(snapshot);
      const double t = h.Start();
      if (t < 0) break;
      (had_snapshot ? from_snapshot : full).push_back(t);
      rss_after = RssKb(h.pid());
      if (!had_snapshot && i + 1 < restarts) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(600);
        while (!std::filesystem::exists(snapshot) && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(milliseconds(200));
        }
      }
      if (i + 1 < restarts) h.Stop();
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? -1.0 : v[v.size() / 2];
    };
    auto least = [](const std::vector<double>& v) {
      return v.empty() ? -1.0 : *std::min_element(v.begin(), v.end());
    };
    const int started = static_cast<int>(full.size() + from_snapshot.size());
    checks.emplace_back("restarted " + std::to_string(restarts) + " time(s)", started == restarts);
    // The figure: from a snapshot when one was used, as a running daemon always has one.
    const std::vector<double>& main_times = from_snapshot.empty() ? full : from_snapshot;
    report["restarts"] = restarts;
    report["startup_s"] = median(main_times);
    report["startup_min_s"] = least(main_times);
    report["startup_from_snapshot"] = !from_snapshot.empty();
    report["startup_snapshot_starts"] = static_cast<int64_t>(from_snapshot.size());
    report["startup_full_replay_s"] = median(full);
    report["startup_full_replays"] = static_cast<int64_t>(full.size());
    report["rss_restarted_kb"] = rss_after;
    std::printf("start-up with %lld instruments: from a snapshot median %.2f s (min %.2f, %zu "
                "start(s)); full replay median %.2f s (%zu start(s)); RSS %lld kB\n",
                static_cast<long long>(run.population().instruments()), median(from_snapshot),
                least(from_snapshot), from_snapshot.size(), median(full), full.size(),
                static_cast<long long>(rss_after));
  } else if (mode == "rss") {
    // Also after a restart (state rebuilt from the store, no intake garbage).
    h.Stop();
    const double t = h.Start();
    const int64_t rss_restarted = RssKb(h.pid());
    report["rss_restarted_kb"] = rss_restarted;
    report["rss_restarted_per_person_b"] = (rss_restarted - rss_base) * 1024.0 / persons;
    std::printf("after restart (%.2f s): RSS %lld kB (%.0f B/person over the empty daemon)\n", t,
                static_cast<long long>(rss_restarted), (rss_restarted - rss_base) * 1024.0 / persons);
    checks.emplace_back("restarted", t >= 0);
  }

  // Correctness of the whole session.
  std::this_thread::sleep_for(milliseconds(300));
  Reconciled all = run.ReconcileAll();
  report["metrics_deliveries_dropped"] =
      MetricValue(h.Metrics(), "breachwatch_alert_deliveries_dropped_total", "");
  report["backend"] = h.postgres() ? "postgresql" : "sqlite";
  report["profile"] = profile.Finish();
  const int stop_status = h.Stop();
  auto store = run.CheckStore();
  checks.emplace_back("every expected alert received, none lost (" +
                          std::to_string(all.matched) + "/" + std::to_string(all.expected_alerts) +
                          ")",
                      all.lost == 0);
  checks.emplace_back("no duplicated or unexpected load alert (" +
                          std::to_string(all.unexpected + all.grant_alerts) + ")",
                      all.unexpected == 0 && all.grant_alerts == 0);
  {
    // Protocol 9.3: each approach raises one officer copy and one control copy.
    const int off = static_cast<int>(Kind::kProximityOfficer);
    const int ctl = static_cast<int>(Kind::kProximityControl);
    const bool any = run.population().protected_persons() > 0;
    checks.emplace_back(
        "proximity_breach: officer copies " + std::to_string(all.matched_by_kind[off]) + "/" +
            std::to_string(all.expected_by_kind[off]) + ", control copies " +
            std::to_string(all.matched_by_kind[ctl]) + "/" + std::to_string(all.expected_by_kind[ctl]) +
            (any ? "" : " (no protected person in this population)"),
        all.matched_by_kind[off] == all.expected_by_kind[off] &&
            all.matched_by_kind[ctl] == all.expected_by_kind[ctl] &&
            all.expected_by_kind[off] == all.expected_by_kind[ctl] &&
            (!smoke || all.expected_by_kind[off] > 0));
  }
  report["proximity_breaches_expected"] =
      all.expected_by_kind[static_cast<int>(Kind::kProximityOfficer)];
  checks.emplace_back("every event stored exactly once as handled, none rejected; alert seq "
                      "gap-free",
                      store.ok);
  checks.emplace_back("daemon stopped cleanly (exit 0)", stop_status == 0);
  std::printf("store: %s\n", store.detail.c_str());
  std::printf("alerts: %lld expected, %lld received as expected, %lld lost, %lld unexpected, "
              "%lld caused by grants, %lld other (feed health)\n",
              static_cast<long long>(all.expected_alerts), static_cast<long long>(all.matched),
              static_cast<long long>(all.lost), static_cast<long long>(all.unexpected),
              static_cast<long long>(all.grant_alerts), static_cast<long long>(all.other_alerts));
  int failed = 0;
  boost::json::array cj;
  for (const auto& [what, ok] : checks) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
    failed += !ok;
    cj.push_back({{"check", what}, {"pass", ok}});
  }
  report["phases"] = std::move(phases);
  report["checks"] = std::move(cj);
  report["correct"] = failed == 0;
  report["expected_alerts"] = all.expected_alerts;
  report["received_alerts"] = all.matched;
  report["lost"] = all.lost;
  report["unexpected"] = all.unexpected + all.grant_alerts;
  report["other_alerts"] = all.other_alerts;
  report["events_stored"] = store.handled;
  report["store_detail"] = store.detail;
  if (!json_out.empty()) std::ofstream(json_out) << boost::json::serialize(report) << "\n";
  if (failed) h.set_failed();
  std::printf("%s: %d check(s) failed\n", failed ? "FAIL" : "OK", failed);
  return failed ? 1 : 0;
}
