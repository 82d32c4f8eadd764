// High-risk routing (protocol 9.2) through the real breachwatchd in security mode curve (real
// CURVE keys on TCP, docs/security.md): a critical breach of a high-risk case is received at once
// by the owning control room's key on its own topic and by a safety contact's key on theirs, and
// by no unrelated officer's key (neither on their own topic nor by subscribing to the safety
// contact's or to everything, which the subscription gate refuses).  The same breach of a
// standard-risk case, with the same safety contact, does not reach the safety contact: what
// routes it there is the risk.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
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

constexpr char kHighRiskSubject[] = "PNC-79/123456X";
constexpr char kStandardSubject[] = "PNC-80/222222Z";
constexpr char kSafetyContact[] = "IDVA-LW-01";
// Lewisham 014 MSOA population-weighted centroid (ONS): inside E09000023.

// A DVPO excluding `subject` from Lewisham (E09000023), owned by Greenwich's control room
// (E09000011), OIC MP-PC1234, safety contact IDVA-LW-01; `risk` is a JSON object or "".
std::string GrantEvent(int seq, const std::string& subject, const std::string& risk) {
  return R"({"type":"instrument.granted","id":"grant-)" + std::to_string(seq) +
         R"(","source":"court","seq":)" + std::to_string(seq) + R"(,"time":")" + Now(-3600) +
         R"(","instrument":{"instrument_id":"DVPO/LW/2016/000)" + std::to_string(seq) +
         R"(","kind":"dvpo","subject":")" + subject +
         R"(","protected_persons":["PNC-72/654321Y"],"case_ref":"01LW/12345/16",
         "oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000011",
         "safety_contacts":[")" +
         kSafetyContact + R"("],)" + (risk.empty() ? "" : R"("risk":)" + risk + ",") +
         R"("valid_from":")" + Now(-3600) +
         R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone",
         "zone":"E09000023"}]}})";
}

// A GPS fix of `subject` inside Lewisham: an exclusion_zone_breach (critical).
std::string FixInLewisham(int seq, const std::string& subject, int offset_s) {
  return R"({"type":"tag.position","id":"t-)" + std::to_string(seq) +
         R"(","source":"em-provider","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(offset_s) + R"(","person_id":")" + subject + R"(","device_id":"TAG-)" +
         std::to_string(seq) + R"(","at":)" + kInLewishamText + R"(,"accuracy_m":10})";
}

bool Ok(const boost::json::object& reply) {
  return reply.contains("ok") && reply.at("ok").is_bool() && reply.at("ok").as_bool();
}

std::string Str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

std::set<std::string> Recipients(const boost::json::object& alert) {
  std::set<std::string> out;
  for (const auto& r : alert.at("recipients").as_array()) out.insert(Str(r));
  return out;
}

bool HighRisk(const boost::json::object& alert) {
  const auto* v = alert.if_contains("high_risk");
  return v != nullptr && v->is_bool() && v->as_bool();
}

// The first alert of `kind` about `subject` on `sub` within `timeout`; every other alert
// received before it is appended to `skipped` when given.
std::optional<boost::json::object> Await(zmq::socket_t& sub, const std::string& kind,
                                         const std::string& subject, milliseconds timeout,
                                         std::vector<boost::json::object>* skipped = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto a = DaemonProcess::Receive(sub, milliseconds(100));
    if (!a) continue;
    if (Str(a->at("kind")) == kind && Str(a->at("person_id")) == subject) return a;
    if (skipped != nullptr) skipped->push_back(std::move(*a));
  }
  return std::nullopt;
}

class HighRiskCurve : public ::testing::Test {
 protected:
  HighRiskCurve() : d_(Transport::kTcp) {
    d_.EnableCurve();
    greenwich_ = d_.AddClient("CR-GREENWICH", ClientRole::kControlRoom, {}, {"E09000011"});
    contact_ = d_.AddClient(kSafetyContact, ClientRole::kOfficer);
    unrelated_ = d_.AddClient("MP-PC9999", ClientRole::kOfficer);
  }

  // Publishes the grant and waits until the daemon holds `instruments` instruments.
  void Grant(int seq, const std::string& subject, const std::string& risk, int64_t instruments) {
    d_.Publish("orders", GrantEvent(seq, subject, risk));
    ASSERT_TRUE(Eventually([&] {
      auto s = d_.Call("status");
      return Ok(s) && s.at("counts").at("instruments").to_number<int64_t>() == instruments;
    })) << d_.log();
  }

  DaemonProcess d_;
  CurveClientKeys greenwich_, contact_, unrelated_;
};

TEST_F(HighRiskCurve, HighRiskBreachReachesOwningControlAndSafetyContactKeysOnlyAtOnce) {
  ASSERT_TRUE(d_.Start()) << d_.log();
  auto owning = d_.SubscribeAs(greenwich_, "control/E09000011/");
  auto contact = d_.SubscribeAs(contact_, std::string("officer/") + kSafetyContact + "/");
  auto unrelated_own = d_.SubscribeAs(unrelated_, "officer/MP-PC9999/");
  auto unrelated_snoop = d_.SubscribeAs(unrelated_, std::string("officer/") + kSafetyContact + "/");
  auto unrelated_all = d_.SubscribeAs(unrelated_, "");
  // The gate refuses the unrelated officer's two foreign subscriptions (and applies the others).
  ASSERT_TRUE(Eventually([&] { return d_.AuditRows("subscription.refused").size() >= 2; }))
      << d_.log();
  std::this_thread::sleep_for(milliseconds(300));

  Grant(1, kHighRiskSubject, R"({"level":"high","tool":"DARA","marac":true,"markers":["VI"]})", 1);
  Grant(2, kStandardSubject, R"({"level":"standard","tool":"DARA"})", 2);

  // The standard case first: the owning control room gets it (a critical breach always goes
  // there); the safety contact does not.
  d_.Publish("tag", FixInLewisham(1, kStandardSubject, -20));
  auto standard = Await(*owning, "exclusion_zone_breach", kStandardSubject, milliseconds(5000));
  ASSERT_TRUE(standard.has_value()) << d_.log();
  EXPECT_FALSE(HighRisk(*standard)) << boost::json::serialize(*standard);
  EXPECT_FALSE(Recipients(*standard).contains(std::string("officer/") + kSafetyContact + "/"))
      << boost::json::serialize(*standard);

  d_.Publish("tag", FixInLewisham(2, kHighRiskSubject, -10));
  // At once: within seconds of the fix, not at an escalation deadline (120 s at the earliest).
  std::vector<boost::json::object> before_on_contact;
  for (zmq::socket_t* sub : {owning.get(), contact.get()}) {
    auto a = Await(*sub, "exclusion_zone_breach", kHighRiskSubject, milliseconds(5000),
                   sub == contact.get() ? &before_on_contact : nullptr);
    ASSERT_TRUE(a.has_value()) << d_.log();
    EXPECT_EQ(Str(a->at("severity")), "critical");
    EXPECT_TRUE(HighRisk(*a)) << boost::json::serialize(*a);
    EXPECT_EQ(Str(a->at("risk").at("level")), "high");
    const auto to = Recipients(*a);
    EXPECT_TRUE(to.contains("control/E09000011/")) << boost::json::serialize(*a);
    EXPECT_TRUE(to.contains(std::string("officer/") + kSafetyContact + "/"))
        << boost::json::serialize(*a);
    EXPECT_FALSE(to.contains("officer/MP-PC9999/")) << boost::json::serialize(*a);
  }
  // The safety contact's key received nothing about the standard case before it, and the
  // stored copy of the standard breach does not list them either.
  for (const auto& a : before_on_contact) {
    EXPECT_NE(Str(a.at("person_id")), kStandardSubject) << boost::json::serialize(a);
  }
  int stored_standard = 0;
  for (const auto& a : d_.AlertsSince(0)) {
    if (Str(a.at("person_id")) != kStandardSubject) continue;
    ++stored_standard;
    EXPECT_FALSE(Recipients(a).contains(std::string("officer/") + kSafetyContact + "/"))
        << boost::json::serialize(a);
  }
  EXPECT_GE(stored_standard, 1);

  // The unrelated officer's key received nothing, on any of its subscriptions.
  EXPECT_FALSE(DaemonProcess::Receive(*unrelated_own, milliseconds(1000)).has_value());
  EXPECT_FALSE(DaemonProcess::Receive(*unrelated_snoop, milliseconds(200)).has_value());
  EXPECT_FALSE(DaemonProcess::Receive(*unrelated_all, milliseconds(200)).has_value());
}

}  // namespace
}  // namespace bw::testing
