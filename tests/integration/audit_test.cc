// The audit log (issue "Security and accountability"): one complete,
// hash-chained row per Data Protection Act 2018 s.62 operation, written with
// the work it records; `breachctl audit verify` catches rows edited or deleted
// with the sqlite3 shell; retention never erases young audit rows.
//
// The tests drive the real breachwatchd (feeds and control socket) and read its
// store file with SQLite (WAL: safe while it runs).  Retention, which needs old
// dates, is tested on the store itself (tests/store/audit_store_test.cc).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/audit_chain.h"
#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using boost::json::array;
using boost::json::object;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSubject[] = "PNC-80/111111A";

// Runs a shell command; its exit status and standard output.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

// Every audit row of the store at `path`, oldest first (read-only; the daemon may be running).
std::vector<AuditRow> ReadAudit(const std::string& path) {
  std::vector<AuditRow> rows;
  Status s = ForEachAuditRow(path, [&](const AuditRow& r) {
    rows.push_back(r);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return rows;
}

std::map<std::string, int> CountByCategory(const std::vector<AuditRow>& rows, size_t from) {
  std::map<std::string, int> out;
  for (size_t i = from; i < rows.size(); ++i) ++out[rows[i].category];
  return out;
}

std::string DumpRows(const std::vector<AuditRow>& rows, size_t from) {
  std::string s;
  for (size_t i = from; i < rows.size(); ++i) {
    const auto& r = rows[i];
    s += std::to_string(r.id) + " " + r.category + " " + r.op + " actor=" + r.actor +
         " subjects=" + r.subjects + " reason=" + r.reason + " outcome=" + r.outcome +
         " recipients=" + r.recipients + " | " + r.detail + "\n";
  }
  return s;
}

object Instrument(const std::string& id, array conditions) {
  return {{"instrument_id", id},
          {"kind", "police_bail"},
          {"subject", kSubject},
          {"protected_persons", array{"PNC-72/654321Y"}},
          {"case_ref", "01LW/" + id},
          {"offence", "common assault"},
          {"oic", "MP-PC1234"},
          {"supervisor", "MP-DS0077"},
          {"owning_control", "E09000011"},
          {"safety_contacts", array{}},
          {"valid_from", "2026-01-01T00:00:00Z"},
          {"valid_until", nullptr},
          {"conditions", std::move(conditions)}};
}

object Exclusion(const std::string& id, const std::string& code) {
  return {{"condition_id", id}, {"kind", "exclusion_zone"}, {"zone", code}};
}

class AuditLog : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.Start()) << d_.log(); }
  void TearDown() override { d_.Stop(); }

  std::string db() const { return d_.dir() + "/breachwatch.db"; }

  // Publishes the next message of `source` on `feed` and waits until it is handled.
  void Publish(const std::string& feed, const std::string& source, const std::string& type,
               object fields) {
    const int64_t seq = ++seq_[source];
    fields["id"] = source + "-" + std::to_string(seq);
    fields["source"] = source;
    fields["seq"] = seq;
    fields["type"] = type;
    if (!fields.contains("time")) fields["time"] = Now(-5);
    d_.Publish(feed, boost::json::serialize(fields));
    ASSERT_TRUE(Eventually([&] {
      auto status = d_.Call("status", {{"officer_id", "harness"}, {"reason", "wait"}});
      if (!status.contains("feeds")) return false;
      for (const auto& f : status.at("feeds").as_array()) {
        if (f.at("name").as_string() != feed) continue;
        const auto& seqs = f.at("last_seq").as_object();
        auto it = seqs.find(source);
        if (it != seqs.end() && it->value().to_number<int64_t>() >= seq) return true;
      }
      return false;
    })) << type << " not handled\n"
        << d_.log();
  }

  DaemonProcess d_;
  std::map<std::string, int64_t> seq_;
};

// Each s.62 operation, done once through the real interfaces, adds exactly the
// rows of its categories (waiting for the daemon writes `status` rows, which
// are consultations by "harness" and are left out of the count).
TEST_F(AuditLog, EachSection62OperationWritesExactlyOneCompleteRow) {
  struct Step {
    const char* operation;
    std::function<void()> act;
    std::map<std::string, int> expected;  // category -> rows
  };
  std::string alert_id;
  const std::vector<Step> steps = {
      {"collection (instrument.granted on the orders feed)",
       [&] {
         Publish("orders", "court-orders", "instrument.granted",
                 {{"time", "2026-02-01T09:00:00Z"},
                  {"instrument", Instrument("BAIL/A1", array{Exclusion("c1", "E09000023")})}});
       },
       {{"collection", 1}}},
      {"alteration (instrument.varied: also collected)",
       [&] {
         Publish("orders", "court-orders", "instrument.varied",
                 {{"time", "2026-02-02T09:00:00Z"},
                  {"instrument", Instrument("BAIL/A1", array{Exclusion("c1", "E09000023"),
                                                             Exclusion("c2", "E09000022")})}});
       },
       {{"collection", 1}, {"alteration", 1}}},
      {"consultation (conditions.person with its reason)",
       [&] {
         auto r = d_.Call("conditions.person", {{"officer_id", "MP-PC5555"},
                                                {"reason", "person check, Catford"},
                                                {"person_id", kSubject}});
         ASSERT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
       },
       {{"consultation", 1}}},
      {"combination + disclosure (a fix inside the exclusion zone raises an alert)",
       [&] {
         Publish("tag", "em-provider", "tag.position",
                 {{"person_id", kSubject},
                  {"device_id", "TAG-1"},
                  {"at", kInLewisham},
                  {"accuracy_m", 10}});
       },
       {{"collection", 1}, {"combination", 1}, {"disclosure", 1}}},
      {"alteration (alert.ack)",
       [&] {
         auto alerts = d_.AlertsSince(0);
         ASSERT_FALSE(alerts.empty());
         alert_id = std::string(alerts.back().at("alert_id").as_string());
         auto r = d_.Call("alert.ack", {{"officer_id", "MP-PC1234"},
                                        {"reason", "attending"},
                                        {"alert_id", alert_id}});
         ASSERT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
       },
       {{"alteration", 1}}},
      {"collection by hand (event.submit: the request row is the collection record)",
       [&] {
         auto r = d_.Call(
             "event.submit",
             {{"officer_id", "MP-PC5555"},
              {"reason", "manual entry of a radio report"},
              {"event", object{{"id", "manual-1"},
                               {"source", "manual-entry"},
                               {"type", "check.person"},
                               {"time", Now(-5)},
                               {"person_id", kSubject},
                               {"officer_id", "MP-PC5555"},
                               {"at", kInGreenwich}}}});
         ASSERT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
       },
       // The check_result alert is a disclosure; a check matched against conditions
       // (none breached here) combines nothing that raised a breach.
       {{"collection", 1}, {"disclosure", 1}}},
  };

  for (const Step& step : steps) {
    SCOPED_TRACE(step.operation);
    const size_t before = ReadAudit(db()).size();
    step.act();
    std::vector<AuditRow> rows = ReadAudit(db());
    // Leave out the harness's own requests (waiting on status, reading alerts).
    std::vector<AuditRow> mine;
    for (size_t i = before; i < rows.size(); ++i) {
      const std::string& a = rows[i].actor;
      if (a != "harness" && a != "test-harness" && a != "MP-TEST01") mine.push_back(rows[i]);
    }
    EXPECT_EQ(CountByCategory(mine, 0), step.expected) << DumpRows(mine, 0);
    for (const auto& r : mine) {
      SCOPED_TRACE(DumpRows({r}, 0));
      EXPECT_FALSE(r.at.empty());
      EXPECT_FALSE(r.actor.empty());
      EXPECT_FALSE(r.op.empty());
      EXPECT_FALSE(r.reason.empty());
      EXPECT_FALSE(r.outcome.empty());
      EXPECT_EQ(r.subjects, kSubject);
      EXPECT_EQ(r.hash.size(), 64u);
      EXPECT_EQ(AuditRowHash(r), r.hash);
      if (r.category == "disclosure") {
        EXPECT_FALSE(r.recipients.empty());
      }
      if (r.category == "consultation") {
        EXPECT_EQ(r.actor, "MP-PC5555");
        EXPECT_EQ(r.reason, "person check, Catford");
      }
      if (r.category == "collection" && r.op == "check.person") {
        EXPECT_EQ(r.actor, "MP-PC5555");
        EXPECT_EQ(r.reason, "manual entry of a radio report");
      }
    }
  }
  auto report = VerifyAuditLog(db());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok());
}

// A refused request is audited too (who, what, why refused), and returns nothing.
TEST_F(AuditLog, RefusedRequestIsAudited) {
  const size_t before = ReadAudit(db()).size();
  auto r = d_.Call("conditions.person", {{"officer_id", "MP-PC5555"}, {"reason", "curious"}});
  ASSERT_FALSE(r.at("ok").as_bool());
  auto rows = ReadAudit(db());
  bool found = false;
  for (size_t i = before; i < rows.size(); ++i) {
    if (rows[i].op == "conditions.person") {
      found = true;
      EXPECT_EQ(rows[i].outcome, "bad_request") << DumpRows(rows, i);
      EXPECT_EQ(rows[i].actor, "MP-PC5555");
      EXPECT_EQ(rows[i].reason, "curious");
    }
  }
  EXPECT_TRUE(found) << DumpRows(rows, before);
}

// Issue 12, defect 7: a request with the wrong frame count, an empty op, or a body over 1 MiB
// used to be answered without an audit row (or, over 1 MiB, dropped with neither reply nor row).
// Spec section 7: every request, answered or refused, writes one.
TEST_F(AuditLog, RequestsWithWrongFramesEmptyOpOrOversizeBodyAreAnsweredAndAudited) {
  zmq::socket_t dealer(d_.context(), zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 10000);
  dealer.connect(d_.control_endpoint());
  auto ask = [&](const std::vector<std::string>& frames) -> std::string {
    for (size_t i = 0; i < frames.size(); ++i) {
      dealer.send(zmq::buffer(frames[i]),
                  i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    std::vector<zmq::message_t> reply;
    if (!zmq::recv_multipart(dealer, std::back_inserter(reply))) return "";
    return reply.back().to_string();
  };
  const size_t before = ReadAudit(db()).size();
  const std::string body = R"({"officer_id":"MP-PC5555","reason":"probe"})";
  EXPECT_NE(ask({"status"}).find("bad_request"), std::string::npos) << "one frame";
  EXPECT_NE(ask({"status", body, "extra"}).find("bad_request"), std::string::npos);
  EXPECT_NE(ask({"", body}).find("bad_request"), std::string::npos) << "an empty op";
  const std::string oversize = R"({"officer_id":"MP-PC5555","reason":")" +
                               std::string(1536 * 1024, 'x') + R"("})";
  const std::string reply = ask({"status", oversize});
  EXPECT_NE(reply.find("too large"), std::string::npos) << reply.substr(0, 300);
  auto rows = ReadAudit(db());
  int refused = 0;
  for (size_t i = before; i < rows.size(); ++i) {
    if (rows[i].outcome == "bad_request") ++refused;
  }
  EXPECT_EQ(refused, 4) << DumpRows(rows, before);
}

// The triggers refuse edits; an edit made after dropping them (as someone with
// the sqlite3 shell could) is found by `breachctl audit verify`, as is a deleted row.
TEST_F(AuditLog, VerifyCatchesRowsEditedOrDeletedWithTheSqliteShell) {
  for (int i = 0; i < 5; ++i) {
    auto r = d_.Call("conditions.person", {{"officer_id", "MP-PC5555"},
                                           {"reason", "check " + std::to_string(i)},
                                           {"person_id", kSubject}});
    ASSERT_TRUE(r.at("ok").as_bool());
  }
  ASSERT_GE(ReadAudit(db()).size(), 5u);
  const std::string ctl = std::string(BREACHCTL_PATH) + " audit verify --db " + db();
  auto [ok_rc, ok_out] = Shell(ctl);
  EXPECT_EQ(ok_rc, 0) << ok_out;
  EXPECT_NE(ok_out.find("intact"), std::string::npos) << ok_out;

  // Append-only: a plain UPDATE or DELETE is refused.
  auto [upd_rc, upd_out] = Shell("sqlite3 " + db() + " \"UPDATE audit_log SET reason='x' WHERE id=2\"");
  EXPECT_NE(upd_rc, 0) << upd_out;
  EXPECT_NE(upd_out.find("append-only"), std::string::npos) << upd_out;
  auto [del_rc, del_out] = Shell("sqlite3 " + db() + " \"DELETE FROM audit_log WHERE id=2\"");
  EXPECT_NE(del_rc, 0) << del_out;

  d_.Stop();
  // Someone drops the trigger and rewrites why row 2 was looked at.
  auto [edit_rc, edit_out] =
      Shell("sqlite3 " + db() +
          " \"DROP TRIGGER audit_log_no_update; UPDATE audit_log SET reason='routine' WHERE id=2\"");
  ASSERT_EQ(edit_rc, 0) << edit_out;
  auto [rc, out] = Shell(ctl);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("BROKEN"), std::string::npos) << out;
  EXPECT_NE(out.find("row 2: hash does not match"), std::string::npos) << out;

  // ...and deletes row 4.
  auto [drop_rc, drop_out] =
      Shell("sqlite3 " + db() + " \"DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id=4\"");
  ASSERT_EQ(drop_rc, 0) << drop_out;
  std::tie(rc, out) = Shell(ctl);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("row 5: expected row 4"), std::string::npos) << out;
  EXPECT_NE(out.find("row 5: prev_hash does not match"), std::string::npos) << out;

  // Export writes every remaining row as JSON Lines.
  auto [exp_rc, exp_out] = Shell(std::string(BREACHCTL_PATH) + " audit export --db " + db());
  EXPECT_EQ(exp_rc, 0) << exp_out;
  EXPECT_NE(exp_out.find("\"category\":\"consultation\""), std::string::npos) << exp_out;
}

}  // namespace
}  // namespace bw::testing
