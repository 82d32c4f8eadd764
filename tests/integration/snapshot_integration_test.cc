// Start-up from a snapshot (issue 14), against the real daemon: it writes one in the background,
// a restart loads it and replays only what followed, and a corrupt one is ignored (the whole
// journal replayed).  Either way the restarted daemon knows its instruments and breaches and
// carries on with the alert seq.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "handlers/base/clock.h"
#include "handlers/base/time_util.h"
#include "tests/integration/daemon_process.h"

namespace bw::testing {
namespace {

const char* kInLewisham = "[-0.026769491892293,51.456018429508376]";

std::string Now(int offset_s = 0) {
  return FormatRfc3339(SystemClock().Now() + std::chrono::seconds(offset_s));
}

std::string Grant(int seq) {
  return R"({"type":"instrument.granted","id":"grant-)" + std::to_string(seq) +
         R"(","source":"custody-lewisham","seq":)" + std::to_string(seq) + R"(,"time":")" +
         Now(-3600) + R"(","instrument":{"instrument_id":"BAIL/LW/2016/0412","kind":"police_bail",
         "subject":"PNC-79/123456X","protected_persons":[],"case_ref":"01LW/12345/16",
         "offence":"common assault","oic":"MP-PC1234","supervisor":"MP-DS0077",
         "owning_control":"E09000011","valid_from":")" +
         Now(-3600) +
         R"(","valid_until":null,"conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})";
}

std::string Check(int seq) {
  return R"({"type":"check.person","id":"chk-)" + std::to_string(seq) +
         R"(","source":"checks-met","seq":)" + std::to_string(seq) + R"(,"time":")" + Now() +
         R"(","person_id":"PNC-79/123456X","officer_id":"MP-PC5555","at":)" + kInLewisham + "}";
}

bool LogHas(const DaemonProcess& d, const std::string& text) {
  return d.log().find(text) != std::string::npos;
}

// Grant and breach, a snapshot of them; then a restart that writes none (a long period) and one
// more breach after the snapshot.  Returns the snapshot's path; the daemon is stopped.
std::string HistoryWithASnapshotAndARowAfterIt(DaemonProcess& d) {
  d.config().store_snapshot_every_s = 1;
  EXPECT_TRUE(d.Start()) << d.log();
  d.Publish("orders", Grant(1));
  d.Publish("check", Check(1));
  EXPECT_TRUE(Eventually([&] { return d.AlertsSince(0).size() == 2; })) << d.log();
  const std::string path = d.config().store_path + ".snapshot";
  EXPECT_TRUE(Eventually([&] { return LogHas(d, "snapshot " + path + " written"); })) << d.log();
  d.Kill9();
  d.config().store_snapshot_every_s = 3600;
  d.WriteConfig();
  EXPECT_TRUE(d.Start()) << d.log();
  EXPECT_TRUE(LogHas(d, "snapshot " + path + " loaded")) << d.log();
  auto submitted = d.Call("event.submit", {{"event", boost::json::parse(Check(2))}});
  EXPECT_TRUE(submitted.at("ok").as_bool()) << boost::json::serialize(submitted);
  EXPECT_EQ(d.AlertsSince(0).size(), 4u);
  d.Kill9();
  return path;
}

void ExpectItCarriesOn(DaemonProcess& d) {
  auto conditions = d.Call("conditions.person", {{"person_id", "PNC-79/123456X"}});
  ASSERT_TRUE(conditions.at("ok").as_bool()) << boost::json::serialize(conditions);
  ASSERT_EQ(conditions.at("instruments").as_array().size(), 1u);
  EXPECT_EQ(conditions.at("breach_count").as_int64(), 2);
  auto submitted = d.Call("event.submit", {{"event", boost::json::parse(Check(3))}});
  ASSERT_TRUE(submitted.at("ok").as_bool()) << boost::json::serialize(submitted);
  // The third breach: breach, check_result and repeat_breach (the breach history survived).
  ASSERT_EQ(submitted.at("alerts").as_array().size(), 3u);
  EXPECT_EQ(submitted.at("alerts").as_array()[0].at("seq").as_int64(), 5);
}

TEST(Snapshot, ARestartLoadsTheSnapshotAndReplaysOnlyWhatFollowedIt) {
  DaemonProcess d;
  HistoryWithASnapshotAndARowAfterIt(d);
  ASSERT_TRUE(d.Start()) << d.log();
  EXPECT_TRUE(LogHas(d, "state rebuilt from a snapshot and 1 stored event(s)")) << d.log();
  ExpectItCarriesOn(d);
}

TEST(Snapshot, ACorruptSnapshotIsIgnoredAndTheWholeJournalReplayed) {
  DaemonProcess d;
  const std::string path = HistoryWithASnapshotAndARowAfterIt(d);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) - 12));
    f.put('\x7f');
  }
  ASSERT_TRUE(d.Start()) << d.log();
  EXPECT_TRUE(LogHas(d, "checksum mismatch")) << d.log();
  EXPECT_TRUE(LogHas(d, "state rebuilt from 3 stored event(s)")) << d.log();
  ExpectItCarriesOn(d);
}

}  // namespace
}  // namespace bw::testing
