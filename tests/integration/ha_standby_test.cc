// The warm standby (docs/ha.md, daemon/standby.h), against two real daemons sharing one database
// of the throw-away test cluster (fixture pg_cluster):
//
// - a standby follows the journal: its status shows role standby, the active node, and a lag
//   that goes to 0 rows once the active has committed; after a takeover the engine has the
//   instruments granted while it waited (it applied them then: the takeover catches up only the
//   tail, and no full replay is made);
// - a standby refuses every request but status, naming the active node, and stores nothing (not
//   even an audit row); a malformed request is still refused as malformed first.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "daemon/pg_conn.h"
#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

std::string Grant(int p, int seq, const std::string& from) {
  return R"({"type":"instrument.granted","id":"sg-)" + std::to_string(p) +
         R"(","source":"orders-sim","seq":)" + std::to_string(seq) + R"(,"time":")" + from +
         R"(","instrument":{"instrument_id":"BAIL/SB/)" + std::to_string(p) +
         R"(","kind":"police_bail","subject":"S)" + std::to_string(p) +
         R"(","oic":"OIC-1","supervisor":"SUP-1","owning_control":"E09000023","valid_from":")" +
         from +
         R"(","conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})";
}

std::string Fix(int p, int seq, const std::string& at, double lon, double lat) {
  return R"({"type":"tag.position","id":"sfix-)" + std::to_string(seq) +
         R"(","source":"em-sim","seq":)" + std::to_string(seq) + R"(,"time":")" + at +
         R"(","person_id":"S)" + std::to_string(p) + R"(","device_id":"D)" + std::to_string(p) +
         R"(","at":[)" + std::to_string(lon) + "," + std::to_string(lat) + R"(],"accuracy_m":8})";
}

// Rows of a table of the shared database.
int64_t CountRows(const std::string& conninfo, const std::string& table) {
  auto conn = PgConn::Connect(conninfo);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return -1;
  const std::string sql = "SELECT COUNT(*) FROM " + table;
  auto r = (*conn)->Exec(sql.c_str(), {}, "count");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->Int(0, 0) : -1;
}

const boost::json::object& Ha(const boost::json::object& status) {
  static const boost::json::object kNone;
  if (!status.contains("ha") || !status.at("ha").is_object()) return kNone;
  return status.at("ha").as_object();
}

std::string Role(DaemonProcess& d) {
  auto s = d.Call("status");
  const auto& ha = Ha(s);
  return ha.contains("role") ? std::string(ha.at("role").as_string()) : "";
}

bool IsUnavailableNaming(const boost::json::object& reply, const std::string& node) {
  if (!reply.contains("error")) return false;
  const auto& e = reply.at("error").as_object();
  return e.at("code").as_string() == "unavailable" &&
         std::string(e.at("message").as_string()).find(node) != std::string::npos;
}

class HaStandby : public PgDatabaseTest {
 protected:
  void SetUp() override {
    PgDatabaseTest::SetUp();
    if (NoDatabase()) return;
    a_ =
        std::make_unique<DaemonProcess>(Transport::kIpc, std::vector<std::string>{"orders", "tag"});
    b_ =
        std::make_unique<DaemonProcess>(Transport::kIpc, std::vector<std::string>{"orders", "tag"});
    for (const char* feed : {"orders", "tag"}) {
      b_->feed_config(feed).endpoint = a_->feed_config(feed).endpoint;
    }
    a_->UsePostgres(db_->conninfo(), "node-a");
    b_->UsePostgres(db_->conninfo(), "node-b");
    a_->config().log_level = "info";
    b_->config().log_level = "info";
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    db_.reset();
  }
  std::string Logs() const { return "--- node-a:\n" + a_->log() + "\n--- node-b:\n" + b_->log(); }
  // Starts a as the active node and b as its standby (answering status as one).
  void StartPair() {
    ASSERT_TRUE(a_->Start()) << Logs();
    ASSERT_TRUE(b_->Spawn());
    ASSERT_TRUE(Eventually([&] { return Role(*b_) == "standby"; }, std::chrono::seconds(20)))
        << Logs();
  }

  std::unique_ptr<DaemonProcess> a_, b_;
};

TEST_F(HaStandby, FollowsTheJournalLagGoesToZeroAndTakesOverWithTheTailOnly) {
  StartPair();
  {
    const auto standby = b_->Call("status");
    const auto& ha = Ha(standby);
    EXPECT_EQ(ha.at("role").as_string(), "standby");
    EXPECT_EQ(ha.at("node").as_string(), "node-b");
    EXPECT_EQ(ha.at("active_node").as_string(), "node-a");
    EXPECT_GE(ha.at("term").to_number<int64_t>(), 1);
    EXPECT_TRUE(ha.contains("lag_rows") && ha.contains("lag_seconds")) << standby;
  }
  // The active commits grants and fixes while b waits.
  constexpr int kPersons = 8, kFixes = 40;
  const std::string from = FormatRfc3339(SystemClock().Now() - std::chrono::hours(2));
  for (int p = 0; p < kPersons; ++p) a_->Publish("orders", Grant(p, p + 1, from));
  for (int i = 0; i < kFixes; ++i) {
    const std::string at =
        FormatRfc3339(SystemClock().Now() - std::chrono::hours(1) + std::chrono::seconds(i));
    a_->Publish("tag", Fix(i % kPersons, i + 1, at, -0.10, 51.60));  // outside the zone
  }
  const int64_t total = kPersons + kFixes;
  ASSERT_TRUE(Eventually(
      [&] {
        auto s = a_->Call("status");
        return s.contains("counts") &&
               s.at("counts").at("inbound_handled").to_number<int64_t>() == total;
      },
      std::chrono::seconds(30)))
      << Logs();
  // The standby applies them: lag 0, at the active's last row.
  const int64_t active_row = Ha(a_->Call("status")).at("last_applied_row").to_number<int64_t>();
  boost::json::object ha;
  ASSERT_TRUE(Eventually(
      [&] {
        ha = Ha(b_->Call("status"));
        return ha.contains("lag_rows") && ha.at("lag_rows").is_int64() &&
               ha.at("lag_rows").as_int64() == 0 &&
               ha.at("last_applied_row").to_number<int64_t>() == active_row;
      },
      std::chrono::seconds(10)))
      << ha << "\n"
      << Logs();
  EXPECT_EQ(ha.at("lag_seconds").to_number<double>(), 0.0);
  EXPECT_GE(ha.at("followed_rows").to_number<int64_t>(), total);

  // Takeover: b already holds every grant; it catches up only what a committed after b's last
  // poll (here nothing more), and replays nothing from the start.
  a_->Kill9();
  ASSERT_TRUE(b_->AwaitReady(std::chrono::seconds(20))) << Logs();
  const auto after = b_->Call("status");
  EXPECT_EQ(Ha(after).at("role").as_string(), "active") << after;
  EXPECT_EQ(Ha(after).at("active_node").as_string(), "node-b");
  EXPECT_EQ(Ha(after).at("takeover_tail_rows").to_number<int64_t>(), 0) << after;
  const std::string log = b_->log();
  EXPECT_NE(log.find("(the tail only, no full replay)"), std::string::npos) << log;
  EXPECT_EQ(log.find("state rebuilt from"), std::string::npos)
      << "b started before any event: a replay at takeover would say so\n"
      << log;
  // The engine has the grants made on the active while b waited.
  for (int p = 0; p < kPersons; ++p) {
    auto person = b_->Call("conditions.person", {{"person_id", "S" + std::to_string(p)}});
    ASSERT_TRUE(person.contains("instruments")) << person;
    ASSERT_EQ(person.at("instruments").as_array().size(), 1u) << person;
  }
}

TEST_F(HaStandby, RefusesEveryRequestButStatusNamingTheActiveAndStoresNothing) {
  StartPair();
  const std::string from = FormatRfc3339(SystemClock().Now() - std::chrono::hours(2));
  ASSERT_EQ(a_->Call("event.submit", {{"event", boost::json::parse(Grant(1, 1, from))}})
                .at("ok")
                .as_bool(),
            true)
      << Logs();
  // Give the standby a poll to see the grant, then count what is stored.
  std::this_thread::sleep_for(milliseconds(500));
  const int64_t inbound = CountRows(db_->conninfo(), "inbound");
  const int64_t audit = CountRows(db_->conninfo(), "audit_log");
  const int64_t alerts = CountRows(db_->conninfo(), "alerts");

  // State changes: refused, naming the active node.
  auto submit = b_->Call("event.submit", {{"event", boost::json::parse(Grant(2, 2, from))}});
  EXPECT_TRUE(IsUnavailableNaming(submit, "node-a")) << submit;
  auto ack = b_->Call("alert.ack", {{"alert_id", "01J00000000000000000000000"}});
  EXPECT_TRUE(IsUnavailableNaming(ack, "node-a")) << ack;
  auto resolve = b_->Call("alert.resolve",
                          {{"alert_id", "01J00000000000000000000000"}, {"outcome", "warned"}});
  EXPECT_TRUE(IsUnavailableNaming(resolve, "node-a")) << resolve;
  // Reads that must be audited: refused too (a standby cannot write the audit row).
  auto person = b_->Call("conditions.person", {{"person_id", "S1"}});
  EXPECT_TRUE(IsUnavailableNaming(person, "node-a")) << person;
  auto since = b_->Call("alerts.since", {{"seq", 0}});
  EXPECT_TRUE(IsUnavailableNaming(since, "node-a")) << since;
  // A malformed request is refused as such first (decoding and authorisation come first).
  auto bad = b_->Call("conditions.person", {{"reason", ""}});
  ASSERT_TRUE(bad.contains("error")) << bad;
  EXPECT_EQ(bad.at("error").at("code").as_string(), "bad_request") << bad;
  // Status is served.
  EXPECT_EQ(Role(*b_), "standby");

  // Nothing stored by the standby: no inbound row, no alert, no audit row.
  EXPECT_EQ(CountRows(db_->conninfo(), "inbound"), inbound);
  EXPECT_EQ(CountRows(db_->conninfo(), "alerts"), alerts);
  EXPECT_EQ(CountRows(db_->conninfo(), "audit_log"), audit);
  EXPECT_NE(b_->log().find("audit row not stored"), std::string::npos) << b_->log();
  // The active still serves, and the refused grant was not applied anywhere.
  auto on_a = a_->Call("conditions.person", {{"person_id", "S2"}});
  ASSERT_TRUE(on_a.contains("instruments")) << on_a;
  EXPECT_TRUE(on_a.at("instruments").as_array().empty()) << on_a;
}

}  // namespace
}  // namespace bw::testing
