// Integration tests for issue 12, defect 2, "one query stops breach handling": conditions.location
// over many instruments ran for seconds on the thread that handles breaches and answered in one
// unbounded reply.  Against the real breachwatchd over ZeroMQ:
//  - an event sent while a huge location query is in flight is handled, and its alert published,
//    before the query's last page is served;
//  - so is one sent behind many queued queries, before the last of them is answered;
//  - a reply is cut at its `limit` with `more` and a `next` cursor, and following the cursors lists
//    every condition exactly once, judged at the time of the first page;
//  - breachctl pages through to the end, or stops at --max and says how to carry on.
// Nothing here asserts on time: only on what the daemon did in what order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"

namespace bw::testing {
namespace {

using boost::json::array;
using boost::json::object;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kLewisham[] = "E09000023";
constexpr double kLewishamLon = -0.026769491892293, kLewishamLat = 51.456018429508376;
constexpr char kOrders[] = "court-orders";
constexpr char kChecks[] = "checks-met";
constexpr char kBreacher[] = "PNC-12/000001Q";

// A 64-vertex circle of `radius_m` around (lon, lat), drawn on the order: each one is its own
// geometry, so judging whether it overlaps an area costs real work per instrument.
object InlineCircle(double lon, double lat, double radius_m) {
  array ring;
  const double dlat = radius_m / 111320.0;
  const double dlon = dlat / std::cos(lat * M_PI / 180.0);
  for (int i = 0; i <= 64; ++i) {
    const double a = 2 * M_PI * (i % 64) / 64;  // counter-clockwise, closed
    ring.push_back(array{lon + dlon * std::cos(a), lat + dlat * std::sin(a)});
  }
  // Not `array{ring}`: under clang that copies the ring (CWG 1467) instead of nesting it.
  array rings;
  rings.emplace_back(std::move(ring));
  return {{"type", "Polygon"}, {"coordinates", std::move(rings)}};
}

object Instrument(const std::string& id, const std::string& subject, array conditions) {
  return {{"instrument_id", id},
          {"kind", "police_bail"},
          {"subject", subject},
          {"case_ref", "01LW/" + id},
          {"oic", "MP-PC1234"},
          {"owning_control", kLewisham},
          {"valid_from", "2026-01-01T00:00:00Z"},
          {"valid_until", nullptr},
          {"conditions", std::move(conditions)}};
}

class Feeds {
 public:
  explicit Feeds(DaemonProcess* d) : d_(d) {}

  void Publish(const std::string& feed, const std::string& source, const std::string& type,
               object fields) {
    const int64_t seq = ++seq_[source];
    fields["id"] = source + "-" + std::to_string(seq);
    fields["source"] = source;
    fields["seq"] = seq;
    fields["type"] = type;
    if (!fields.contains("time")) fields["time"] = "2026-02-01T12:00:00Z";
    d_->Publish(feed, boost::json::serialize(fields));
  }
  void Grant(object instrument) {
    Publish("orders", kOrders, "instrument.granted",
            {{"time", "2026-01-01T00:00:00Z"}, {"instrument", std::move(instrument)}});
  }
  // Waits until the daemon has handled everything published by `source`.
  bool AwaitHandled(const std::string& feed, const std::string& source,
                    milliseconds timeout = milliseconds(60000)) {
    return Eventually(
        [&] {
          auto status = d_->Call("status");
          if (!status.contains("feeds")) return false;
          for (const auto& f : status.at("feeds").as_array()) {
            if (f.at("name").as_string() != feed) continue;
            const auto& seqs = f.at("last_seq").as_object();
            auto it = seqs.find(source);
            return it != seqs.end() && it->value().to_number<int64_t>() >= seq_[source];
          }
          return false;
        },
        timeout);
  }

 private:
  DaemonProcess* d_;
  std::map<std::string, int64_t> seq_;
};

// A DEALER on the control socket, so that a request can be in flight while the test does other
// things (ControlClient waits for each reply).
class AsyncControl {
 public:
  explicit AsyncControl(DaemonProcess* d) : socket_(d->context(), zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(d->control_endpoint());
  }
  void Send(const std::string& op, object body) {
    body["officer_id"] = "MP-TEST01";
    body["reason"] = "integration test";
    socket_.send(zmq::buffer(op), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(boost::json::serialize(body)), zmq::send_flags::none);
  }
  // The reply: two frames, like an alert (DaemonProcess::Receive reads either).
  std::optional<object> Receive(milliseconds timeout) {
    return DaemonProcess::Receive(socket_, timeout);
  }

 private:
  zmq::socket_t socket_;
};

std::string Key(const boost::json::value& condition) {
  return std::string(condition.at("instrument_id").as_string()) + "/" +
         std::string(condition.at("condition").at("condition_id").as_string());
}

// Enough instruments with their own zones that one scan of them all takes the old daemon visibly
// long (the tests only wait for the daemon, they never time it), and the breacher's order.
constexpr int kMany = 3000;
void GrantManyDrawnZonesAndTheBreacher(Feeds* feeds) {
  for (int i = 0; i < kMany; ++i) {
    const double lon = kLewishamLon + 0.002 * std::sin(i), lat = kLewishamLat + 0.002 * std::cos(i);
    feeds->Grant(Instrument("BAIL/MANY/" + std::to_string(100000 + i),
                            "PNC-13/" + std::to_string(100000 + i) + "A",
                            array{object{{"condition_id", "c1"},
                                         {"kind", "exclusion_zone"},
                                         {"zone", InlineCircle(lon, lat, 250)}}}));
  }
  feeds->Grant(Instrument(
      "BAIL/BREACHER", kBreacher,
      array{object{{"condition_id", "c1"}, {"kind", "exclusion_zone"}, {"zone", kLewisham}}}));
}

// A check finds the breacher inside his exclusion zone.
void PublishBreach(Feeds* feeds) {
  feeds->Publish("check", kChecks, "check.person",
                 {{"time", FormatRfc3339(SystemClock().Now() - seconds(5))},
                  {"person_id", kBreacher},
                  {"officer_id", "MP-PC5555"},
                  {"at", array{kLewishamLon, kLewishamLat}}});
}

// True once the breacher's exclusion_zone_breach has arrived on `sub` (reads what is waiting).
bool BreachSeen(zmq::socket_t& sub) {
  while (auto a = DaemonProcess::Receive(sub, milliseconds(0))) {
    if (a->at("kind").as_string() == "exclusion_zone_breach" &&
        a->at("person_id").as_string() == kBreacher) {
      return true;
    }
  }
  return false;
}

TEST(QueryStall, AnEventSentWhileAHugeLocationQueryIsInFlightIsHandledBeforeItsLastPage) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Feeds feeds(&d);
  GrantManyDrawnZonesAndTheBreacher(&feeds);
  ASSERT_TRUE(feeds.AwaitHandled("orders", kOrders)) << d.log();
  auto sub = d.Subscribe("");
  // Settle the subscription: nothing is published until the check below.
  ASSERT_FALSE(DaemonProcess::Receive(*sub, milliseconds(200)).has_value());

  AsyncControl control(&d);
  control.Send("conditions.location", {{"area", kLewisham}});
  // While that query is in flight: a check finds the breacher inside his exclusion zone.
  PublishBreach(&feeds);
  auto breach_seen = [&] { return BreachSeen(*sub); };
  int pages = 0;
  int pages_before_alert = -1;  // page replies received before the alert was seen
  std::multiset<std::string> listed;
  for (;;) {
    auto reply = control.Receive(milliseconds(120000));
    ASSERT_TRUE(reply.has_value()) << "no reply to page " << pages + 1 << "\n" << d.log();
    ASSERT_TRUE(reply->at("ok").as_bool()) << boost::json::serialize(*reply);
    ++pages;
    for (const auto& c : reply->at("conditions").as_array()) listed.insert(Key(c));
    // Looked at before the next page is asked for: an alert seen here was published before the
    // daemon served any later page.
    if (pages_before_alert < 0 && breach_seen()) pages_before_alert = pages;
    if (!reply->contains("more") || !reply->at("more").as_bool()) break;
    control.Send("conditions.location",
                 {{"area", kLewisham}, {"cursor", reply->at("next").as_string()}});
  }
  if (pages_before_alert < 0) {
    ASSERT_TRUE(Eventually(breach_seen)) << "the breach was never published\n" << d.log();
    pages_before_alert = pages + 1;
  }
  RecordProperty("pages", pages);
  RecordProperty("pages_before_alert", pages_before_alert);
  EXPECT_LT(pages_before_alert, pages) << "the breach alert came only with or after the last of "
                                       << pages << " page(s): the query held up breach handling";
  // Paging lost and repeated nothing.
  EXPECT_EQ(listed.size(), static_cast<size_t>(kMany + 1));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), listed.size())
      << "a condition was listed twice";
}

TEST(QueryStall, AnEventSentBehindManyQueuedLocationQueriesIsHandledBeforeTheLastIsAnswered) {
  // Each page is bounded, but a drain of the control socket takes every queued request: it too
  // must yield to the feeds.
  constexpr int kQueued = 40;
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  Feeds feeds(&d);
  GrantManyDrawnZonesAndTheBreacher(&feeds);
  ASSERT_TRUE(feeds.AwaitHandled("orders", kOrders)) << d.log();
  auto sub = d.Subscribe("");
  ASSERT_FALSE(DaemonProcess::Receive(*sub, milliseconds(200)).has_value());

  AsyncControl control(&d);
  for (int i = 0; i < kQueued; ++i) control.Send("conditions.location", {{"area", kLewisham}});
  PublishBreach(&feeds);
  int replies = 0;
  int replies_before_alert = -1;
  while (replies < kQueued) {
    auto reply = control.Receive(milliseconds(120000));
    ASSERT_TRUE(reply.has_value()) << "no reply " << replies + 1 << "\n" << d.log();
    ASSERT_TRUE(reply->at("ok").as_bool()) << boost::json::serialize(*reply);
    ++replies;
    if (replies_before_alert < 0 && BreachSeen(*sub)) replies_before_alert = replies;
  }
  if (replies_before_alert < 0) {
    ASSERT_TRUE(Eventually([&] { return BreachSeen(*sub); })) << d.log();
    replies_before_alert = replies + 1;
  }
  RecordProperty("replies_before_alert", replies_before_alert);
  EXPECT_LT(replies_before_alert, kQueued)
      << "the breach alert came only after every queued query had been answered";
}

// `count` instruments, each excluding its subject from Lewisham.
void GrantLewishamExclusions(DaemonProcess* d, int count) {
  Feeds feeds(d);
  for (int i = 0; i < count; ++i) {
    feeds.Grant(Instrument(
        "BAIL/PAGE/" + std::to_string(100 + i), "PNC-14/" + std::to_string(100 + i) + "B",
        array{object{{"condition_id", "c1"}, {"kind", "exclusion_zone"}, {"zone", kLewisham}}}));
  }
  ASSERT_TRUE(feeds.AwaitHandled("orders", kOrders)) << d->log();
}

// What `command` printed on stdout.
std::string Output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(QueryStall, ALocationReplyIsCutAtItsLimitWithACursorThatYieldsTheRestExactlyOnce) {
  constexpr int kCount = 25;
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  GrantLewishamExclusions(&d, kCount);

  std::multiset<std::string> listed;
  std::set<std::string> at_times;
  std::string cursor;
  int pages = 0;
  for (;;) {
    object req = {{"area", kLewisham}, {"limit", 10}};
    if (!cursor.empty()) req["cursor"] = cursor;
    auto r = d.Call("conditions.location", req);
    ASSERT_TRUE(r.at("ok").as_bool()) << boost::json::serialize(r);
    ++pages;
    const auto& conditions = r.at("conditions").as_array();
    EXPECT_LE(conditions.size(), 10u) << "page " << pages;
    for (const auto& c : conditions) listed.insert(Key(c));
    at_times.insert(std::string(r.at("at_time").as_string()));
    ASSERT_TRUE(r.contains("more")) << "a paged reply says whether there is more";
    if (pages == 1) {
      EXPECT_EQ(conditions.size(), 10u) << "cut at the limit";
      EXPECT_TRUE(r.at("more").as_bool());
    }
    if (!r.at("more").as_bool()) {
      EXPECT_FALSE(r.contains("next"));
      break;
    }
    ASSERT_TRUE(r.at("next").is_string());
    cursor = std::string(r.at("next").as_string());
    ASSERT_LT(pages, 10) << "no end";
  }
  EXPECT_GE(pages, 3);
  EXPECT_EQ(listed.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), listed.size());
  EXPECT_EQ(at_times.size(), 1u) << "every page is judged at the time of the first";

  // A cursor belongs to its query; a limit is bounded.
  auto first = d.Call("conditions.location", {{"area", kLewisham}, {"limit", 5}});
  ASSERT_TRUE(first.contains("next")) << boost::json::serialize(first);
  auto elsewhere =
      d.Call("conditions.location", {{"area", "E09000011"}, {"cursor", first.at("next")}});
  ASSERT_TRUE(elsewhere.contains("error")) << boost::json::serialize(elsewhere);
  EXPECT_EQ(elsewhere.at("error").at("code").as_string(), "bad_request");
  auto forged = d.Call("conditions.location", {{"area", kLewisham}, {"cursor", "nonsense"}});
  ASSERT_TRUE(forged.contains("error")) << boost::json::serialize(forged);
  EXPECT_EQ(forged.at("error").at("code").as_string(), "bad_request");
  auto huge = d.Call("conditions.location", {{"area", kLewisham}, {"limit", 1000000}});
  ASSERT_TRUE(huge.contains("error")) << boost::json::serialize(huge);
  EXPECT_EQ(huge.at("error").at("code").as_string(), "bad_request");
  // Each page is a request of its own in the audit log, naming what it disclosed.
  auto audit = d.AuditRows("conditions.location");
  ASSERT_FALSE(audit.empty());
  EXPECT_NE(audit.front().find("10 condition(s) disclosed; more to page through"),
            std::string::npos)
      << audit.front();
}

TEST(QueryStall, BreachctlLocationPagesThroughEveryConditionOrStopsAtMaxAndSaysThereIsMore) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  GrantLewishamExclusions(&d, 25);
  const std::string base = std::string(BREACHCTL_PATH) + " --control " + d.control_endpoint() +
                           " --reason 'who is barred from Lewisham' location --area " + kLewisham;
  const std::string all = Output(base + " --page-size 10 2>&1");
  EXPECT_NE(all.find("25 condition(s) forbid presence here\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("more"), std::string::npos) << all;
  for (int i = 0; i < 25; ++i) {
    EXPECT_NE(all.find("BAIL/PAGE/" + std::to_string(100 + i)), std::string::npos) << i;
  }
  const std::string some = Output(base + " --page-size 10 --max 10 2>&1");
  EXPECT_NE(some.find("10 condition(s) forbid presence here (so far)"), std::string::npos) << some;
  const std::string marker = "(more: carry on with --cursor ";
  const size_t at = some.find(marker);
  ASSERT_NE(at, std::string::npos) << some;
  const std::string cursor =
      some.substr(at + marker.size(), some.find(')', at) - at - marker.size());
  const std::string rest = Output(base + " --cursor " + cursor + " 2>&1");
  EXPECT_NE(rest.find("15 condition(s) forbid presence here\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("(BAIL/PAGE/124,"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("(BAIL/PAGE/100,"), std::string::npos) << "listed again: " << rest;
}

}  // namespace
}  // namespace bw::testing
