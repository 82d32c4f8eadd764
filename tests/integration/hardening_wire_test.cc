// Hardening (issue 12), the wire: regression tests for what an adversarial probe of the daemon
// found at its sockets — oversize frames, descriptor exhaustion, stuck alert subscribers, memory
// while intake is paused, revoked keys, control floods.  Each test is named after what it
// reproduces; each failed on the code before its fix.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

std::string Grant(int seq, const std::string& instrument_id, const std::string& zone_json) {
  return R"({"type":"instrument.granted","id":"grant-)" + std::to_string(seq) +
         R"(","source":"custody-lewisham","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":")" + instrument_id +
         R"(","kind":"police_bail","subject":"PNC-79/123456X","protected_persons":[],
         "case_ref":"01LW/12345/16","offence":"common assault","oic":"MP-PC1234",
         "supervisor":"MP-DS0077","owning_control":"E09000023","valid_from":")" +
         Now(-3600) + R"(","valid_until":null,"conditions":[{"condition_id":"c1",
         "kind":"exclusion_zone","zone":)" +
         zone_json + "}]}}";
}

// A closed ring of `vertices` points around Lewisham, as a GeoJSON Polygon.
std::string HugePolygon(int vertices) {
  std::string ring;
  ring.reserve(static_cast<size_t>(vertices) * 28);
  for (int i = 0; i < vertices; ++i) {
    const double t = 6.283185307179586 * i / vertices;
    char point[64];
    std::snprintf(point, sizeof point, "[%.7f,%.7f],", -0.02 + 0.01 * std::cos(t),
                  51.45 + 0.01 * std::sin(t));
    ring += point;
  }
  char first[64];
  std::snprintf(first, sizeof first, "[%.7f,%.7f]", -0.02 + 0.01, 51.45);
  ring += first;
  return R"({"type":"Polygon","coordinates":[[)" + ring + "]]}";
}

struct FeedFigures {
  int64_t handled = -1;
  int64_t rejected = -1;
  int64_t oversize = -1;
  int64_t reconnects = -1;
};

FeedFigures Figures(DaemonProcess& d, const std::string& feed) {
  FeedFigures out;
  auto s = d.Call("status");
  if (!s.contains("feeds")) return out;
  for (const auto& f : s.at("feeds").as_array()) {
    const auto& o = f.as_object();
    if (o.at("name").as_string() != feed) continue;
    out.handled = o.at("handled").to_number<int64_t>();
    out.rejected = o.at("rejected").to_number<int64_t>();
    if (o.contains("oversize")) out.oversize = o.at("oversize").to_number<int64_t>();
    if (o.contains("reconnects")) out.reconnects = o.at("reconnects").to_number<int64_t>();
  }
  return out;
}

// The dead-letter store (inbound rows with result 'rejected'), read-only.
std::vector<DaemonProcess::DeadLetter> DeadLetters(const DaemonProcess& d) {
  return d.DeadLetters();
}

// ---- Defect 1: one oversize frame cut a feed off for good -------------------------------------

TEST(HardeningWire, TwentyMegabyteFrameOnTagIsDeadLetteredAndTheFeedStaysConnected) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("tag", Heartbeat(1));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 1; })) << d.log();

  const size_t huge = 20u * 1000 * 1000;
  d.Publish("tag", std::string(huge, ' ') + Heartbeat(2));
  d.Publish("tag", Heartbeat(3));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 2; }, milliseconds(20000)))
      << "the message after the oversize frame was never handled: the feed was cut off\n"
      << d.log();
  const auto figures = Figures(d, "tag");
  EXPECT_EQ(figures.rejected, 1);
  EXPECT_EQ(figures.oversize, 1);
  auto dead = DeadLetters(d);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].channel, "tag");
  EXPECT_EQ(dead[0].reason, "oversize");
  EXPECT_NE(dead[0].detail.find(std::to_string(huge + Heartbeat(2).size() + 3)), std::string::npos)
      << "the reason names the frame's size: " << dead[0].detail;
  EXPECT_LE(dead[0].payload_bytes, d.config().intake_max_message_bytes)
      << "the store keeps a bounded prefix, not 20 MB";
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_rejected").empty(); })) << d.log();
  EXPECT_EQ(AlertsOfKind(d, "feed_rejected")[0].at("feed").as_string(), "tag");
}

TEST(HardeningWire, MillionVertexPolygonOnOrdersIsDeadLetteredAndLaterOrdersAreHandled) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  const std::string huge = Grant(1, "BAIL/LW/2016/0001", HugePolygon(1'000'000));
  ASSERT_GT(huge.size(), 16u << 20) << "past the old transport cap";
  d.Publish("orders", huge);
  d.Publish("orders", Grant(2, "BAIL/LW/2016/0002", "\"E09000023\""));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "orders").handled == 1; }, milliseconds(20000)))
      << "the order after the huge polygon was never handled\n"
      << d.log();
  EXPECT_EQ(Figures(d, "orders").rejected, 1);
  auto dead = DeadLetters(d);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "oversize");
  EXPECT_NE(dead[0].detail.find(std::to_string(huge.size() + std::string("orders").size())),
            std::string::npos)
      << dead[0].detail;
  auto person = d.Call("conditions.person", {{"person_id", "PNC-79/123456X"}});
  ASSERT_TRUE(person.at("ok").as_bool()) << person;
  ASSERT_EQ(person.at("instruments").as_array().size(), 1u);
}

TEST(HardeningWire, FrameOverTheTransportCeilingDropsTheConnectionWhichComesBackWhenSilent) {
  DaemonProcess d;
  d.config().intake_max_frame_bytes = 1 << 20;
  d.feed_config("tag").silent_after_s = 1;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("tag", Heartbeat(1));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 1; })) << d.log();
  // Over the ceiling: ZeroMQ drops the connection (a protocol error) and does not reconnect.
  d.Publish("tag", std::string(2 << 20, ' ') + Heartbeat(2));
  int64_t seq = 3;
  ASSERT_TRUE(Eventually(
      [&] {
        d.Publish("tag", Heartbeat(seq++));
        std::this_thread::sleep_for(milliseconds(100));
        return Figures(d, "tag").handled >= 2;
      },
      milliseconds(20000)))
      << "the feed never came back after a frame over the transport ceiling\n"
      << d.log();
  EXPECT_GE(Figures(d, "tag").reconnects, 1);
}

// ---- Defect 5: a subscriber that never reads cost the others alerts, uncounted ----------------


std::string Check(int seq) {
  return R"({"type":"check.person","id":"chk-)" + std::to_string(seq) +
         R"(","source":"checks-met","seq":)" + std::to_string(seq) + R"(,"time":")" + Now() +
         R"(","person_id":"PNC-79/123456X","officer_id":"MP-PC5555","at":)" + kInLewishamText + "}";
}

int64_t Count(DaemonProcess& d, const char* key) {
  auto s = d.Call("status");
  if (!s.contains("counts") || !s.at("counts").as_object().contains(key)) return -1;
  return s.at("counts").at(key).to_number<int64_t>();
}

// A SUB that takes at most a handful of messages and then never reads.
std::unique_ptr<zmq::socket_t> StuckSubscriber(DaemonProcess& d, const std::string& topic) {
  auto s = std::make_unique<zmq::socket_t>(d.context(), zmq::socket_type::sub);
  s->set(zmq::sockopt::rcvhwm, 5);
  s->set(zmq::sockopt::rcvbuf, 4096);
  s->set(zmq::sockopt::linger, 0);
  s->set(zmq::sockopt::subscribe, topic);
  s->connect(d.alerts_endpoint());
  return s;
}

// Reads `topic` on its own thread: the seqs of the alerts received.
class ReadingSubscriber {
 public:
  ReadingSubscriber(DaemonProcess& d, const std::string& topic) : sub_(d.Subscribe(topic)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto a = DaemonProcess::Receive(*sub_, milliseconds(100));
        if (!a) continue;
        std::lock_guard<std::mutex> lock(mu_);
        seqs_.insert(a->at("seq").as_int64());
      }
    });
  }
  ~ReadingSubscriber() {
    stop_ = true;
    thread_.join();
  }
  size_t received() {
    std::lock_guard<std::mutex> lock(mu_);
    return seqs_.size();
  }
  std::set<int64_t> seqs() {
    std::lock_guard<std::mutex> lock(mu_);
    return seqs_;
  }

 private:
  std::unique_ptr<zmq::socket_t> sub_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<int64_t> seqs_;
};

// The seqs of the stored alerts sent to `topic`.
std::set<int64_t> StoredSeqsTo(DaemonProcess& d, const std::string& topic) {
  std::set<int64_t> out;
  for (const auto& a : d.AlertsSince(0)) {
    for (const auto& r : a.at("recipients").as_array()) {
      if (r.as_string() == topic) out.insert(a.at("seq").as_int64());
    }
  }
  return out;
}

TEST(HardeningWire, SubscriberThatNeverReadsCostsAReadingSubscriberOfTheSameTopicNothing) {
  DaemonProcess d;
  d.config().alerts_send_hwm = 20;
  d.config().alerts_stuck_after_s = 1;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1, "BAIL/LW/2016/0412", "\"E09000023\""));
  ASSERT_TRUE(Eventually([&] { return Count(d, "instruments") == 1; })) << d.log();
  const std::string topic = "control/E09000023/";
  auto stuck = StuckSubscriber(d, topic);
  ReadingSubscriber reader(d, topic);
  std::this_thread::sleep_for(milliseconds(300));  // both subscriptions reach the daemon

  const int n = 1000;
  for (int i = 1; i <= n; ++i) d.Publish("check", Check(i));
  ASSERT_TRUE(Eventually([&] { return Count(d, "inbound_handled") == n + 1; })) << d.log();
  const std::set<int64_t> sent = StoredSeqsTo(d, topic);  // breaches and repeat_breach alerts
  ASSERT_GT(sent.size(), static_cast<size_t>(n));
  EXPECT_TRUE(Eventually([&] { return reader.seqs() == sent; }, milliseconds(60000)))
      << "the reading subscriber got " << reader.received() << " of " << sent.size() << "\n"
      << d.log();
  EXPECT_EQ(Count(d, "alert_deliveries_dropped"), 0);
  EXPECT_GE(Count(d, "alert_subscribers_cut_off"), 1);
  EXPECT_TRUE(Eventually([&] { return Count(d, "alert_backlog") == 0; }));
}

TEST(HardeningWire, AlertsAStuckSubscriberHoldsBackAreCountedExactlyAsNotSent) {
  DaemonProcess d;
  d.config().alerts_send_hwm = 20;
  d.config().alerts_backlog_max = 100;
  d.config().alerts_stuck_after_s = 3600;  // never cut: count what the topic did not get
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1, "BAIL/LW/2016/0412", "\"E09000023\""));
  ASSERT_TRUE(Eventually([&] { return Count(d, "instruments") == 1; })) << d.log();
  const std::string topic = "control/E09000023/";
  auto stuck = StuckSubscriber(d, topic);
  ReadingSubscriber reader(d, topic);
  std::this_thread::sleep_for(milliseconds(300));

  const int n = 600;
  for (int i = 1; i <= n; ++i) d.Publish("check", Check(i));
  ASSERT_TRUE(Eventually([&] { return Count(d, "inbound_handled") == n + 1; })) << d.log();
  const auto sent = static_cast<int64_t>(StoredSeqsTo(d, topic).size());
  // Whatever the reader lacks is exactly what the daemon says it did not send to the topic:
  // dropped (over backlog_max) or still waiting.
  ASSERT_TRUE(Eventually([&] {
    return static_cast<int64_t>(reader.received()) + Count(d, "alert_deliveries_dropped") +
               Count(d, "alert_backlog") ==
           sent;
  })) << "of "
      << sent << ": reader " << reader.received() << ", dropped "
      << Count(d, "alert_deliveries_dropped") << ", waiting " << Count(d, "alert_backlog");
  EXPECT_GT(Count(d, "alert_deliveries_dropped"), 0);
  // Bounded by backlog_max (a few may still drain into the stuck subscriber's socket buffers).
  EXPECT_GT(Count(d, "alert_backlog"), 0);
  EXPECT_LE(Count(d, "alert_backlog"), 100);
}

// ---- Defect 4: descriptor exhaustion ------------------------------------------------------------

int TcpPort(const std::string& endpoint) {
  return std::atoi(endpoint.substr(endpoint.rfind(':') + 1).c_str());
}

// Opens `n` TCP connections to 127.0.0.1:`port` that never send a byte.
std::vector<int> HalfOpenConnections(int port, int n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS: fine
    fds.push_back(fd);
    // In waves the listen backlog (100) can take, rather than leave most to SYN retries.
    if (fds.size() % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fds;
}

int64_t OpenDescriptors(pid_t pid) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

TEST(HardeningWire, ElevenHundredHalfOpenConnectionsUnderA1024DescriptorLimitLeaveControlServed) {
  DaemonProcess d(Transport::kTcp);
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("tag", Heartbeat(1));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 1; })) << d.log();
  // What a unit without LimitNOFILE gets.
  rlimit limit{1024, 1024};
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_NOFILE, &limit, nullptr), 0) << std::strerror(errno);
  rlimit ours{};
  getrlimit(RLIMIT_NOFILE, &ours);
  ours.rlim_cur = ours.rlim_max;
  setrlimit(RLIMIT_NOFILE, &ours);
  ASSERT_GE(ours.rlim_cur, 1500u) << "the test needs 1,100 descriptors of its own";

  auto flood = HalfOpenConnections(TcpPort(d.control_endpoint()), 1100);
  ASSERT_EQ(flood.size(), 1100u);
  std::this_thread::sleep_for(milliseconds(1500));  // accepted up to the limit meanwhile
  // Control is still answered, and feed events still handled, while the flood stays open.
  auto status = d.Call("status");
  EXPECT_TRUE(status.contains("ok") && status.at("ok").as_bool())
      << "control locked out: " << status << "\n"
      << d.log();
  d.Publish("tag", Heartbeat(2));
  EXPECT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 2; })) << d.log();
  EXPECT_TRUE(Eventually([&] { return OpenDescriptors(d.pid()) < 1024 - 64; }))
      << OpenDescriptors(d.pid()) << " descriptors open: none kept in reserve";
  EXPECT_NE(d.log().find("over its cap"), std::string::npos) << d.log();
  for (int fd : flood) close(fd);
}

// ---- Risk: memory grew without bound while intake was paused ----------------------------------

int64_t ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

std::string PaddedHeartbeat(int64_t seq, size_t bytes) {
  std::string hb = Heartbeat(seq);
  hb.pop_back();  // the closing brace
  hb += R"(,"padding":")" + std::string(bytes, 'x') + "\"}";
  return hb;
}

TEST(HardeningWire, FifteenHundredSixtyKilobyteMessagesWhileIntakeIsPausedDoNotGrowMemory) {
  DaemonProcess d;
  const std::string replay_endpoint = d.EnableReplay("tag");
  d.config().policy.gap_fill_s = 2;
  d.config().intake_feed_queue_max = 100;
  const std::string fault_file = d.dir() + "/faults";
  d.SetEnv("BREACHWATCH_FAULT_FILE", fault_file);
  ReplayServer replay(d.context(), replay_endpoint);
  ASSERT_TRUE(d.Start()) << d.log();
  replay.Store(1, Heartbeat(1));
  d.Publish("tag", Heartbeat(1));
  ASSERT_TRUE(Eventually([&] { return Figures(d, "tag").handled == 1; })) << d.log();

  std::ofstream(fault_file) << "fail_commit\n";
  replay.Store(2, Heartbeat(2));
  d.Publish("tag", Heartbeat(2));
  ASSERT_TRUE(Eventually([&] { return d.log().find("intake paused") != std::string::npos; }))
      << d.log();
  const int64_t before = ResidentKiB(d.pid());
  const int n = 1500;
  for (int64_t seq = 3; seq < 3 + n; ++seq) {
    const std::string hb = PaddedHeartbeat(seq, 60 * 1000);
    replay.Store(seq, hb);
    d.Publish("tag", hb);
  }
  std::this_thread::sleep_for(milliseconds(3000));
  const int64_t during = ResidentKiB(d.pid());
  EXPECT_LT(during - before, 40 * 1024)
      << "resident memory grew from " << before << " KiB to " << during << " KiB while paused";

  std::filesystem::remove(fault_file);
  EXPECT_TRUE(Eventually([&] { return Figures(d, "tag").handled == n + 2; }, milliseconds(60000)))
      << "handled " << Figures(d, "tag").handled << " of " << n + 2 << "\n"
      << d.log();
}

// ---- Risk: a revoked key kept its open alert subscription until restart -----------------------

TEST(HardeningWire, RevokedOfficerKeyLosesItsOpenAlertSubscriptionOnSighup) {
  DaemonProcess d(Transport::kTcp);
  d.EnableCurve();
  const CurveClientKeys officer = d.AddClient("MP-PC1234", ClientRole::kOfficer);
  const CurveClientKeys room =
      d.AddClient("CR-LEWISHAM", ClientRole::kControlRoom, {}, {"E09000023"});
  ASSERT_TRUE(d.Start()) << d.log();
  auto revoked = d.SubscribeAs(officer, "officer/MP-PC1234/");
  auto kept = d.SubscribeAs(room, "control/E09000023/");
  std::this_thread::sleep_for(milliseconds(300));
  d.Publish("orders", Grant(1, "BAIL/LW/2016/0412", "\"E09000023\""));
  d.Publish("check", Check(1));
  ASSERT_TRUE(DaemonProcess::Receive(*revoked, milliseconds(5000)).has_value()) << d.log();
  ASSERT_TRUE(DaemonProcess::Receive(*kept, milliseconds(5000)).has_value()) << d.log();

  d.RemoveClient("MP-PC1234");
  d.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return d.log().find("reload: ") != std::string::npos; }))
      << d.log();
  // The control room's subscriber reconnects and gets later alerts; the revoked one gets none.
  int seq = 2;
  ASSERT_TRUE(Eventually(
      [&] {
        d.Publish("check", Check(seq++));
        return DaemonProcess::Receive(*kept, milliseconds(300)).has_value();
      },
      milliseconds(15000)))
      << "the control room's subscription did not come back\n"
      << d.log();
  auto leaked = DaemonProcess::Receive(*revoked, milliseconds(1000));
  EXPECT_FALSE(leaked.has_value())
      << "a revoked key still receives: " << (leaked ? boost::json::serialize(*leaked) : "");
  EXPECT_TRUE(Eventually([&] { return !d.AuditRows("security.keys_revoked").empty(); }));
  EXPECT_NE(d.log().find("1 key(s) removed or changed"), std::string::npos) << d.log();
}

// ---- Risk: no per-identity rate limit on control requests --------------------------------------

TEST(HardeningWire, ControlFloodFromOneIdentityIsRefusedOverItsRateAndAuditedInAggregate) {
  DaemonProcess d;
  d.config().control_rate_per_s = 20;
  d.config().control_rate_burst = 40;
  ASSERT_TRUE(d.Start()) << d.log();
  const int n = 1500;
  int refused = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = d.Call("status", {{"officer_id", "MP-FLOOD"}});
    if (r.contains("ok") && !r.at("ok").as_bool()) {
      ASSERT_EQ(r.at("error").at("code").as_string(), "unavailable") << r;
      ASSERT_NE(std::string(r.at("error").at("message").as_string()).find("rate limit"),
                std::string::npos)
          << r;
      ++refused;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int allowed_at_most = 40 + static_cast<int>(20 * seconds) + 2;
  EXPECT_GE(refused, n - allowed_at_most) << "over " << seconds << " s";
  // Another identity is served meanwhile.
  auto other = d.Call("status", {{"officer_id", "MP-PC1234"}});
  EXPECT_TRUE(other.at("ok").as_bool()) << other;

  // Not one audit row per refused request: the answered ones, and a summary with the count.
  auto rows = [&](const std::string& op) {
    std::vector<std::string> out;
    for (auto& r : d.AuditRows(op)) {
      if (r.rfind("MP-FLOOD|", 0) == 0) out.push_back(r);
    }
    return out;
  };
  EXPECT_EQ(static_cast<int>(rows("status").size()), n - refused);
  ASSERT_TRUE(Eventually([&] { return !rows("control.rate_limited").empty(); })) << d.log();
  EXPECT_EQ(d.Stop(), 0);
  auto summaries = rows("control.rate_limited");
  EXPECT_LE(summaries.size(), 3u);
  int64_t summarised = 0;
  for (const auto& row : summaries) {
    const auto detail = row.substr(row.rfind('|') + 1);
    summarised += std::atoll(detail.c_str());
    EXPECT_NE(detail.find("ops: status"), std::string::npos) << row;
  }
  EXPECT_EQ(summarised, refused);
}

}  // namespace
}  // namespace bw::testing
