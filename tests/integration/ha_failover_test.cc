// Active/standby on PostgreSQL (docs/ha.md), against two real daemons sharing one database of the
// throw-away test cluster (fixture pg_cluster, tests/store/store_backends.h):
//
// - failover: a feed sends while the active is killed with SIGKILL at random moments (ten
//   times); the standby takes over each time and the killed one comes back as the standby.
//   Every event is stored exactly once, alert seq is gap-free, no alert is published twice, and
//   the takeover times (kill to the new active answering `status`) are reported (p50, max);
// - fencing: the active's database session is terminated while it runs: it stops (exit 75)
//   without committing or publishing anything more, the standby takes over, and no alert is
//   published twice.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/pg_conn.h"
#include "handlers/base/time_util.h"
#include "tests/integration/bail_walk.h"
#include "tests/integration/daemon_process.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

using Event = FeedEvent;

// Subscribes to every topic of both daemons' alert endpoints on its own thread and records
// each (seq, topic) delivery.
class AlertCollector {
 public:
  explicit AlertCollector(std::vector<std::string> endpoints)
      : thread_([this, endpoints = std::move(endpoints)] { Run(endpoints); }) {}
  ~AlertCollector() {
    stop_ = true;
    thread_.join();
  }
  // (seq, topic) -> deliveries.
  std::map<std::pair<int64_t, std::string>, int> deliveries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }

 private:
  void Run(const std::vector<std::string>& endpoints) {
    zmq::context_t ctx(1);
    std::vector<zmq::socket_t> subs;
    for (const auto& e : endpoints) {
      subs.emplace_back(ctx, zmq::socket_type::sub);
      subs.back().set(zmq::sockopt::linger, 0);
      subs.back().set(zmq::sockopt::subscribe, "");
      subs.back().connect(e);
    }
    while (!stop_) {
      std::vector<zmq::pollitem_t> items;
      for (auto& s : subs) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
      zmq::poll(items.data(), items.size(), milliseconds(50));
      for (size_t i = 0; i < subs.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(subs[i], std::back_inserter(frames),
                                 zmq::recv_flags::dontwait) ||
            frames.size() != 2) {
          continue;
        }
        boost::json::error_code ec;
        auto v = boost::json::parse(frames[1].to_string(), ec);
        if (ec || !v.is_object() || !v.as_object().contains("seq")) continue;
        std::lock_guard<std::mutex> lock(mu_);
        ++deliveries_[{v.as_object().at("seq").to_number<int64_t>(), frames[0].to_string()}];
      }
    }
  }

  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::pair<int64_t, std::string>, int> deliveries_;
  std::thread thread_;
};

struct Stored {
  int64_t handled = 0, distinct_handled = 0, alerts = 0, distinct_alert_ids = 0, max_seq = 0;
};

Stored Inspect(const std::string& conninfo) {
  Stored s;
  auto conn = PgConn::Connect(conninfo);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return s;
  auto r = (*conn)->Exec(
      "SELECT (SELECT COUNT(*) FROM inbound WHERE result='handled' AND channel != 'tick'),"
      " (SELECT COUNT(*) FROM (SELECT DISTINCT source, msg_id FROM inbound WHERE "
      "result='handled' AND channel != 'tick') d),"
      " (SELECT COUNT(*) FROM alerts), (SELECT COUNT(DISTINCT alert_id) FROM alerts),"
      " (SELECT COALESCE(MAX(seq), 0) FROM alerts)",
      {}, "inspect");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return s;
  s.handled = r->Int(0, 0);
  s.distinct_handled = r->Int(0, 1);
  s.alerts = r->Int(0, 2);
  s.distinct_alert_ids = r->Int(0, 3);
  s.max_seq = r->Int(0, 4);
  return s;
}

// The time of the last "breachwatchd ... ready" line of `d`'s log (spdlog's local time stamp,
// read back as local time), or nullopt.
std::optional<std::chrono::system_clock::time_point> LastReadyAt(const DaemonProcess& d) {
  const std::string log = d.log();
  size_t at = log.rfind(" ready\n");
  if (at == std::string::npos) return std::nullopt;
  const size_t line = log.rfind("\n[", at);
  const size_t start = line == std::string::npos ? 0 : line + 1;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(log.c_str() + start, "[%d-%d-%d %d:%d:%d.%d]", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm)) + milliseconds(ms);
}

int64_t HandledCount(DaemonProcess& d) {
  auto s = d.Call("status");
  if (!s.contains("counts")) return -1;
  return s.at("counts").at("inbound_handled").to_number<int64_t>();
}

// Two daemons on one database: `a` binds the feeds' PUBs (the harness's) and both daemons
// subscribe to them and use the same replay endpoints; each has its own alert and control
// endpoints (on one machine they cannot share them).
class HaPair : public PgDatabaseTest {
 protected:
  void SetUp() override {
    PgDatabaseTest::SetUp();
    if (NoDatabase()) return;
    a_ = std::make_unique<DaemonProcess>(Transport::kIpc,
                                         std::vector<std::string>{"orders", "tag"});
    b_ = std::make_unique<DaemonProcess>(Transport::kIpc,
                                         std::vector<std::string>{"orders", "tag"});
    orders_ = std::make_unique<ReplayServer>(a_->context(), a_->EnableReplay("orders"));
    tag_ = std::make_unique<ReplayServer>(a_->context(), a_->EnableReplay("tag"));
    for (const char* feed : {"orders", "tag"}) {
      b_->feed_config(feed).endpoint = a_->feed_config(feed).endpoint;
      b_->feed_config(feed).replay = a_->feed_config(feed).replay;
    }
    a_->UsePostgres(db_->conninfo(), "node-a");
    b_->UsePostgres(db_->conninfo(), "node-b");
    a_->config().log_level = "info";
    b_->config().log_level = "info";
    collector_ = std::make_unique<AlertCollector>(
        std::vector<std::string>{a_->alerts_endpoint(), b_->alerts_endpoint()});
  }
  void TearDown() override {
    collector_.reset();
    orders_.reset();  // their sockets are in a_'s context
    tag_.reset();
    a_.reset();
    b_.reset();
    db_.reset();
  }
  // Plays one event: into the feed's replay store, and on its PUB.
  void Play(const Event& e) {
    (e.feed == "orders" ? *orders_ : *tag_).Store(e.seq, e.json);
    a_->Publish(e.feed, e.json);
  }
  std::string Logs() const { return "--- node-a:\n" + a_->log() + "\n--- node-b:\n" + b_->log(); }
  // Checks what both daemons published against what is stored.
  void ExpectNothingLostNothingTwice(int64_t total) {
    const Stored stored = Inspect(db_->conninfo());
    EXPECT_EQ(stored.handled, total);
    EXPECT_EQ(stored.distinct_handled, total);
    EXPECT_GT(stored.alerts, 0);
    EXPECT_EQ(stored.alerts, stored.distinct_alert_ids);
    EXPECT_EQ(stored.max_seq, stored.alerts) << "alert seq has a gap";
    // Give the last publications time to arrive.
    std::this_thread::sleep_for(milliseconds(500));
    int twice = 0;
    int unstored_notices = 0;  // store_failing (seq 0): a node whose commit was refused says so
    std::set<int64_t> seqs;
    for (const auto& [key, n] : collector_->deliveries()) {
      if (key.first == 0) {
        unstored_notices += n;
        continue;
      }
      if (n > 1) ++twice;
      EXPECT_LE(key.first, stored.max_seq) << "published but not stored: " << key.first;
      seqs.insert(key.first);
    }
    EXPECT_EQ(twice, 0) << "alerts published twice to the same topic";
    std::printf("alerts stored %lld, distinct seqs received live %zu, unstored notices %d\n",
                static_cast<long long>(stored.alerts), seqs.size(), unstored_notices);
  }

  std::unique_ptr<DaemonProcess> a_, b_;
  std::unique_ptr<ReplayServer> orders_, tag_;
  std::unique_ptr<AlertCollector> collector_;
};

TEST_F(HaPair, KillNineTheActiveTenTimesNothingLostNothingTwiceTakeoverMeasured) {
  const uint64_t seed = 20261130;
  // BW_HA_PRELOAD=N: N more fixes handled before the first kill, so that the takeover is
  // measured against a longer journal (docs/ha.md records both).
  const char* preload_env = std::getenv("BW_HA_PRELOAD");
  const size_t preload = preload_env != nullptr ? std::strtoull(preload_env, nullptr, 10) : 0;
  const auto events = GenerateBailWalk(10, 1500 + static_cast<int>(preload), seed, "BAIL/HA/");
  ASSERT_TRUE(a_->Start()) << Logs();
  ASSERT_TRUE(b_->Spawn());
  DaemonProcess* active = a_.get();
  DaemonProcess* standby = b_.get();
  std::mt19937_64 rng(seed);
  constexpr int kKills = 10;
  std::set<size_t> kill_at;
  while (static_cast<int>(kill_at.size()) < kKills) {
    kill_at.insert(std::uniform_int_distribution<size_t>(preload + 20, events.size() - 1)(rng));
  }
  if (preload > 0) {
    for (size_t k = 0; k < preload; ++k) Play(events[k]);
    ASSERT_TRUE(Eventually(
        [&] { return HandledCount(*active) >= static_cast<int64_t>(preload); },
        std::chrono::seconds(300)))
        << "preload not handled\n" << Logs();
  }
  std::vector<double> takeover_ms;  // kill to the new active answering `status` (client side)
  std::vector<double> ready_ms;     // kill to the new active's "ready" log line (daemon side)
  // A node is a standby once it waits for the lock (after its own start-up): kill the active
  // only then, so that each takeover measured is a standby's, not a cold start's.
  auto waits = [](DaemonProcess& d) {
    const std::string log = d.log();
    size_t n = 0;
    for (size_t at = log.find("waiting to take over"); at != std::string::npos;
         at = log.find("waiting to take over", at + 1)) {
      ++n;
    }
    return n;
  };
  size_t standby_waits = 0;
  ASSERT_TRUE(Eventually([&] { return (standby_waits = waits(*standby)) >= 1; }))
      << "no standby\n" << Logs();
  size_t i = preload;
  for (; i < events.size(); ++i) {
    if (!kill_at.empty() && *kill_at.begin() <= i) {
      kill_at.erase(kill_at.begin());
      ASSERT_TRUE(Eventually([&] { return waits(*standby) >= standby_waits; }))
          << "the restarted node did not come back as the standby\n" << Logs();
      std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 30)(rng)));
      active->Kill9();
      const auto killed_at = std::chrono::steady_clock::now();
      const auto killed_wall = std::chrono::system_clock::now();
      // The feed goes on sending while nobody is active (only the replay endpoint keeps it).
      const size_t burst = std::uniform_int_distribution<size_t>(0, 40)(rng);
      for (size_t k = 0; k < burst && i < events.size(); ++k, ++i) Play(events[i]);
      ASSERT_TRUE(standby->AwaitReady(std::chrono::seconds(30)))
          << "the standby did not take over\n" << Logs();
      takeover_ms.push_back(std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - killed_at)
                                .count());
      // As the daemon saw it: from the kill to its "ready" line (the probe above adds its own
      // polling and ZeroMQ reconnection delays).
      const auto ready = LastReadyAt(*standby);
      ASSERT_TRUE(ready.has_value()) << standby->log();
      ready_ms.push_back(
          std::chrono::duration<double, std::milli>(*ready - killed_wall).count());
      std::swap(active, standby);
      standby_waits = waits(*standby) + 1;
      ASSERT_TRUE(standby->Spawn());  // the killed node comes back as the standby
      if (i >= events.size()) break;
    }
    Play(events[i]);
  }
  const int64_t total = static_cast<int64_t>(events.size());
  int64_t handled = 0;
  const bool all = Eventually([&] { return (handled = HandledCount(*active)) == total; },
                              std::chrono::seconds(120));
  ASSERT_TRUE(all) << "only " << handled << " of " << total << " handled\n" << Logs();
  ExpectNothingLostNothingTwice(total);

  ASSERT_EQ(takeover_ms.size(), static_cast<size_t>(kKills));
  auto p50_max = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::pair<double, double>(v[v.size() / 2], v.back());
  };
  const auto [p50, max] = p50_max(takeover_ms);
  const auto [ready_p50, ready_max] = p50_max(ready_ms);
  std::printf("takeover after kill -9, %d kills: to the new active's ready line p50 %.0f ms, "
              "max %.0f ms; to answering a client's status p50 %.0f ms, max %.0f ms\n",
              kKills, ready_p50, ready_max, p50, max);
  RecordProperty("takeover_ready_p50_ms", static_cast<int>(ready_p50));
  RecordProperty("takeover_ready_max_ms", static_cast<int>(ready_max));
  RecordProperty("takeover_status_p50_ms", static_cast<int>(p50));
  RecordProperty("takeover_status_max_ms", static_cast<int>(max));
  // Reported, not asserted: speed belongs in the benchmarks (docs/ha.md records the figures
  // against the 5 s target).
}

TEST_F(HaPair, TerminatedSessionStopsTheActiveAndTheStandbyTakesOverWithoutPublishingTwice) {
  const auto events = GenerateBailWalk(10, 400, 7, "BAIL/HA/");
  ASSERT_TRUE(a_->Start()) << Logs();
  ASSERT_TRUE(b_->Spawn());
  const size_t half = events.size() / 2;
  for (size_t i = 0; i < half; ++i) Play(events[i]);
  ASSERT_TRUE(Eventually([&] { return HandledCount(*a_) == static_cast<int64_t>(half); },
                         std::chrono::seconds(60)))
      << Logs();

  // The session holding the leadership lock is the active's (one session per daemon).
  auto admin = PgConn::Connect(db_->conninfo());
  ASSERT_TRUE(admin.ok());
  auto killed = (*admin)->Exec(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
      "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      {}, "terminate the active's session");
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_EQ(killed->rows(), 1);
  // The feed keeps sending; the old active must stop without writing, the standby take over.
  for (size_t i = half; i < half + 20; ++i) Play(events[i]);
  EXPECT_EQ(a_->AwaitExit(std::chrono::seconds(10)), 75) << Logs();
  ASSERT_TRUE(b_->AwaitReady(std::chrono::seconds(20))) << Logs();
  for (size_t i = half + 20; i < events.size(); ++i) Play(events[i]);
  const int64_t total = static_cast<int64_t>(events.size());
  ASSERT_TRUE(Eventually([&] { return HandledCount(*b_) == total; }, std::chrono::seconds(60)))
      << Logs();
  ExpectNothingLostNothingTwice(total);
  EXPECT_NE(a_->log().find("lost leadership"), std::string::npos) << a_->log();
}

}  // namespace
}  // namespace bw::testing
