// Nothing lost: seq gaps filled from the replay endpoint or raised as feed_gap,
// catch-up after a restart, feed_silent / feed_restored, feed_rejected.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

TEST(FeedHealth, DroppedSeq500To510WithReplayEndpointLosesNothing) {
  DaemonProcess d;
  std::string replay_endpoint = d.EnableReplay("tag");
  d.config().policy.gap_fill_s = 2;
  ReplayServer replay(d.context(), replay_endpoint);
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 520; ++seq) {
    std::string hb = Heartbeat(seq);
    replay.Store(seq, hb);
    if (seq >= 500 && seq <= 510) continue;  // lost on the wire
    d.Publish("tag", hb);
  }
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 520; })) << Handled(d) << "\n" << d.log();
  // Past gap_fill_s (2 s) and a tick: no feed_gap, nothing missing.
  std::this_thread::sleep_for(milliseconds(2600));
  EXPECT_TRUE(AlertsOfKind(d, "feed_gap").empty());
  auto status = d.Call("status");
  EXPECT_EQ(status.at("missing_seqs").as_int64(), 0);
  EXPECT_EQ(Handled(d), 520);
  EXPECT_GE(replay.requests(), 1);
}

TEST(FeedHealth, DroppedSeq500To510WithoutReplayRaisesFeedGapWithinGapFill) {
  DaemonProcess d;
  d.config().policy.gap_fill_s = 2;
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 499; ++seq) d.Publish("tag", Heartbeat(seq));
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 499; }));
  const auto sent = std::chrono::steady_clock::now();
  for (int64_t seq = 511; seq <= 520; ++seq) d.Publish("tag", Heartbeat(seq));
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_gap").empty(); }, milliseconds(8000)))
      << d.log();
  const auto elapsed = std::chrono::steady_clock::now() - sent;
  EXPECT_LE(elapsed, milliseconds(2000 + 1500)) << "feed_gap later than gap_fill_s + a tick";
  auto gaps = AlertsOfKind(d, "feed_gap");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].at("from_seq").as_int64(), 500);
  EXPECT_EQ(gaps[0].at("to_seq").as_int64(), 510);
  EXPECT_EQ(gaps[0].at("feed").as_string(), "tag");
  EXPECT_EQ(gaps[0].at("source").as_string(), "em-provider");
  EXPECT_EQ(gaps[0].at("recipients").as_array().size(), 33u) << "every control room";
}

TEST(FeedHealth, CatchesUpFromTheReplayEndpointAfterARestart) {
  DaemonProcess d;
  std::string replay_endpoint = d.EnableReplay("tag");
  ReplayServer replay(d.context(), replay_endpoint);
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 50; ++seq) {
    replay.Store(seq, Heartbeat(seq));
    d.Publish("tag", Heartbeat(seq));
  }
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 50; })) << d.log();
  d.Kill9();
  // Published while the daemon is down: nobody receives them live.
  for (int64_t seq = 51; seq <= 120; ++seq) replay.Store(seq, Heartbeat(seq));
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 120; })) << Handled(d) << "\n" << d.log();
  auto status = d.Call("status");
  for (const auto& f : status.at("feeds").as_array()) {
    if (f.at("name").as_string() == "tag") {
      EXPECT_EQ(f.at("last_seq").at("em-provider").as_int64(), 120);
    }
  }
}

TEST(FeedHealth, SilentFeedRaisesFeedSilentThenFeedRestored) {
  DaemonProcess d;
  d.feed_config("check").silent_after_s = 1;
  ASSERT_TRUE(d.Start()) << d.log();
  ASSERT_TRUE(
      Eventually([&] { return !AlertsOfKind(d, "feed_silent").empty(); }, milliseconds(5000)))
      << d.log();
  auto silent = AlertsOfKind(d, "feed_silent");
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].at("severity").as_string(), "critical");
  EXPECT_EQ(silent[0].at("feed").as_string(), "check");
  d.Publish("check", Heartbeat(1, "checks-met"));
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_restored").empty(); })) << d.log();
  // Other feeds (silent_after_s 60) stayed quiet without an alert.
  for (const auto& a : AlertsOfKind(d, "feed_silent")) {
    EXPECT_EQ(a.at("feed").as_string(), "check");
  }
}

TEST(FeedHealth, RejectedFeedMessagesRaiseOneRateLimitedFeedRejected) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  for (int i = 0; i < 5; ++i) d.Publish("check", "not json at all");
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_rejected").empty(); })) << d.log();
  std::this_thread::sleep_for(milliseconds(300));
  auto rejected = AlertsOfKind(d, "feed_rejected");
  ASSERT_EQ(rejected.size(), 1u) << "rate-limited to one a minute per feed";
  EXPECT_GT(rejected[0].at("dead_letter_id").as_int64(), 0);
  EXPECT_EQ(rejected[0].at("feed").as_string(), "check");
}

}  // namespace
}  // namespace bw::testing

namespace bw::testing {
namespace {

// GET http://127.0.0.1:port/metrics with plain sockets.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// A subscriber that stops reading must not make the daemon drop alerts silently
// or stall: refused deliveries are counted, and every alert stays retrievable.
TEST(Metrics, SlowSubscriberDeliveriesAreCountedAndAlertsStayRetrievable) {
  DaemonProcess d;
  d.config().alerts_send_hwm = 1;
  d.config().alerts_backlog_max = 100;  // what waits for the stuck topic past this is not sent
  ASSERT_TRUE(d.Start()) << d.log();
  auto stuck = d.Subscribe("");
  stuck->set(zmq::sockopt::rcvhwm, 1);
  std::this_thread::sleep_for(milliseconds(300));  // let the subscription reach the daemon
  const int n = 4000;
  for (int i = 1; i <= n; ++i) {
    d.Publish("check", R"({"type":"check.person","id":"c)" + std::to_string(i) +
                           R"(","source":"checks-met","seq":)" + std::to_string(i) +
                           R"(,"time":")" + FormatRfc3339(SystemClock().Now()) +
                           R"(","person_id":"P1","officer_id":"MP-PC5555","at":[-0.1,51.5]})");
  }
  ASSERT_TRUE(Eventually([&] { return Handled(d) == n; }, milliseconds(60000))) << d.log();
  auto status = d.Call("status");
  EXPECT_GT(status.at("counts").at("alert_deliveries_dropped").as_int64(), 0)
      << "the stuck subscriber should have refused some deliveries";
  EXPECT_EQ(d.AlertsSince(0).size(), static_cast<size_t>(n)) << "every alert still retrievable";
}

TEST(Metrics, PrometheusEndpointReportsFeedsAlertsAndCommitLatency) {
  DaemonProcess d;
  int port = 0;
  {
    zmq::socket_t probe(d.context(), zmq::socket_type::router);
    probe.bind("tcp://127.0.0.1:*");
    std::string ep = probe.get(zmq::sockopt::last_endpoint);
    port = std::stoi(ep.substr(ep.rfind(':') + 1));
  }
  d.config().metrics_endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(d.Start()) << d.log();
  for (int64_t seq = 1; seq <= 10; ++seq) d.Publish("tag", Heartbeat(seq));
  d.Publish("tag", "garbage");
  ASSERT_TRUE(Eventually([&] { return Handled(d) == 10; }));
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_rejected").empty(); }));
  std::string body = HttpGet(port, "/metrics");
  EXPECT_NE(body.find("200 OK"), std::string::npos) << body;
  EXPECT_NE(body.find("breachwatch_feed_messages_total{feed=\"tag\"} 11"), std::string::npos)
      << body;
  EXPECT_NE(body.find("breachwatch_feed_rejected_total{feed=\"tag\"} 1"), std::string::npos)
      << body;
  EXPECT_NE(body.find("breachwatch_alerts_total{kind=\"feed_rejected\"} 1"), std::string::npos)
      << body;
  EXPECT_NE(body.find("breachwatch_commit_seconds_bucket{le=\"+Inf\"}"), std::string::npos) << body;
  EXPECT_NE(body.find("breachwatch_feed_last_seen_age_seconds{feed=\"tag\"}"), std::string::npos);
  EXPECT_NE(HttpGet(port, "/nope").find("404"), std::string::npos);
}

}  // namespace
}  // namespace bw::testing
