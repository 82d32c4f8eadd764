// Inbound messages that look valid but are not what they claim (issue 12, risks): the same
// (source, id) with different content, and event times outside any plausible range.  The real
// daemon over ZeroMQ; outcomes read back from status, alerts.since and the dead-letter store.
#include <gtest/gtest.h>

#include <set>

#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS).

std::string Grant() {
  return R"({"type":"instrument.granted","id":"grant-1","source":"custody-lewisham","seq":1,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "offence":"common assault","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "valid_from":")" + Now(-3600) +
         R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})";
}

std::string Fix(const std::string& id, int64_t seq, const char* at, const std::string& time) {
  return R"({"type":"tag.position","id":")" + id + R"(","source":"em-provider","seq":)" +
         std::to_string(seq) + R"(,"time":")" + time +
         R"(","person_id":"PNC-79/123456X","device_id":"TAG-1","accuracy_m":10,"at":)" + at + "}";
}

int64_t Count(DaemonProcess& d, const char* what) {
  auto s = d.Call("status");
  if (!s.contains("counts")) return -1;
  return s.at("counts").at(what).to_number<int64_t>();
}

// The reasons of the dead letters in the daemon's store.
std::multiset<std::string> DeadLetterReasons(const DaemonProcess& d) {
  std::multiset<std::string> out;
  for (const auto& dead : d.DeadLetters()) out.insert(dead.reason);
  return out;
}

// Before: the second fix (same id, inside Lewisham) was counted as a duplicate and vanished.
TEST(InboundHardening, SameSourceAndIdWithDifferentContentIsKeptAsAConflictAndRaised) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant());
  const std::string t = Now(-5);
  d.Publish("tag", Fix("fix-1", 1, kInGreenwichText, t));
  d.Publish("tag", Fix("fix-1", 1, kInGreenwichText, t));  // a resend: a duplicate
  d.Publish("tag", Fix("fix-1", 2, kInLewishamText, t));   // not a resend
  ASSERT_TRUE(Eventually([&] { return Count(d, "inbound_rejected") == 1; })) << d.log();
  EXPECT_EQ(Count(d, "inbound_handled"), 2) << "the grant and the first fix";
  ASSERT_TRUE(Eventually([&] { return !AlertsOfKind(d, "feed_rejected").empty(); })) << d.log();
  const auto raised = AlertsOfKind(d, "feed_rejected").front();
  EXPECT_EQ(raised.at("feed").as_string(), "tag");
  EXPECT_EQ(raised.at("rejected").as_int64(), 1);
  EXPECT_TRUE(DeadLetterReasons(d).count("conflict")) << "kept in the dead-letter store";
}

// Before: events dated in year 0001 or 1970 were accepted and matched as late.  Now they are bad
// input (reason too_old, naming the field) and the next message is handled.
TEST(InboundHardening, EventsDatedInYearOneOr1970AreRejectedAsTooOld) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant());
  d.Publish("tag", Fix("fix-0001", 1, kInLewishamText, "0001-01-01T00:00:00Z"));
  d.Publish("tag", Fix("fix-1970", 2, kInLewishamText, "1970-01-01T00:00:00Z"));
  d.Publish("tag", Fix("fix-now", 3, kInGreenwichText, Now(-5)));
  ASSERT_TRUE(Eventually([&] { return Count(d, "inbound_handled") == 2; })) << d.log();
  ASSERT_TRUE(Eventually([&] { return Count(d, "inbound_rejected") == 2; })) << d.log();
  EXPECT_EQ(DeadLetterReasons(d), (std::multiset<std::string>{"too_old", "too_old"}));
  EXPECT_TRUE(AlertsOfKind(d, "exclusion_zone_breach").empty())
      << "an implausible date is not a late breach";
  // The reply to event.submit names the field.
  auto r = d.Call("event.submit",
                  {{"event", boost::json::parse(Fix("fix-1969", 4, kInLewishamText,
                                                    "1969-12-31T23:59:59Z"))}});
  ASSERT_TRUE(r.contains("error")) << boost::json::serialize(r);
  EXPECT_EQ(r.at("error").at("code").as_string(), "bad_request");
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("time"), std::string::npos)
      << boost::json::serialize(r);
}

}  // namespace
}  // namespace bw::testing
