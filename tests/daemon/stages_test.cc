// The daemon's stages in process (docs/architecture.md): the journal over the real SQLite store
// behind the fault-injecting decorator, the matcher with an in-memory journal, and the pipeline
// with a real publisher socket.  What they pin down is the commit unit: a refused commit stores and
// publishes nothing and leaves the alert seq as it was; the pipeline then commits the batch as it
// was decided, without matching it again or replaying the store.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "daemon/fault_injecting_store.h"
#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/pipeline.h"
#include "daemon/publisher.h"
#include "handlers/base/time_util.h"
#include "tests/daemon/stage_support.h"
#include "tests/scratch_dir.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using test::LondonBoroughs;

using test::Check;
using test::Grant;
using test::kInGreenwich;
using test::kInLewisham;
using test::Message;

bool HasKind(const std::vector<Alert>& alerts, AlertKind kind) {
  for (const auto& a : alerts) {
    if (a.kind == kind) return true;
  }
  return false;
}

// An in-memory journal that can be told to refuse commits.
class MemoryJournal final : public Journal {
 public:
  Result<CommittedBatch> Commit(JournalEntry* entry) override {
    if (refuse) return Status::IoError("refused by the test");
    CommittedBatch out;
    for (auto& item : entry->items) {
      out.inbound_rows.push_back(static_cast<int64_t>(rows.size()) + 1);
      rows.push_back(item.record);
      if (item.record.result == "handled") handled.insert({item.record.source, item.record.msg_id});
      for (auto& a : item.alerts) {
        a.seq = ++seq;
        out.alerts.push_back({a, ""});
      }
    }
    return out;
  }
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override {
    for (const auto& r : rows) {
      if (r.result == "handled" && r.source == source && r.msg_id == msg_id) return std::optional<std::string>(r.payload);
    }
    return std::optional<std::string>();
  }
  Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) override {
    ++replays;
    for (size_t i = static_cast<size_t>(std::max<int64_t>(after_row, 0)); i < rows.size(); ++i) {
      if (rows[i].result == "handled") fn(static_cast<int64_t>(i) + 1, rows[i].channel, rows[i].payload);
    }
    return Status::Ok();
  }
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override {
    std::map<std::pair<std::string, std::string>, int64_t> last;
    for (const auto& r : rows) {
      auto& s = last[{r.channel, r.source}];
      s = std::max(s, r.seq);
    }
    std::vector<std::tuple<std::string, std::string, int64_t>> out;
    for (const auto& [key, s] : last) out.emplace_back(key.first, key.second, s);
    return out;
  }
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>&) override {
    return Status::Ok();  // nothing here is ever resolved
  }
  Status LoadSeq() override { return Status::Ok(); }
  int64_t last_alert_seq() const override { return seq; }

  bool refuse = false;
  int replays = 0;  // ForEachHandled calls: how often the engine was rebuilt from the journal
  std::vector<InboundRecord> rows;
  std::set<std::pair<std::string, std::string>> handled;
  int64_t seq = 0;
};

class MatcherTest : public ::testing::Test {
 protected:
  MatcherTest()
      : clock_(*ParseRfc3339("2016-08-13T21:00:00Z")),
        engine_(clock_, LondonBoroughs(), Policy{}),
        matcher_(engine_, journal_, clock_, 65536) {}

  // Matches and commits `batch` into the memory journal, as the pipeline would.
  std::vector<ItemOutcome> Run(const std::vector<InboundMessage>& batch) {
    std::vector<ItemOutcome> outcomes;
    auto entry = matcher_.Match(batch, &outcomes);
    EXPECT_TRUE(entry.ok()) << entry.status().ToString();
    if (entry.ok()) EXPECT_TRUE(journal_.Commit(&*entry).ok());
    return outcomes;
  }

  ManualClock clock_;
  Engine engine_;
  MemoryJournal journal_;
  Matcher matcher_;
};

TEST_F(MatcherTest, LaterMessagesOfABatchSeeTheEarlierOnes) {
  auto outcomes = Run({Grant(), Check("chk-1", kInLewisham)});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].result, ItemResult::kHandled);
  EXPECT_EQ(outcomes[1].result, ItemResult::kHandled);
  ASSERT_EQ(journal_.rows.size(), 2u);
  EXPECT_EQ(journal_.seq, 2) << "a breach and a check_result";
}

TEST_F(MatcherTest, ADuplicateWithinTheBatchIsNotJournaledTwice) {
  auto outcomes = Run({Grant(), Grant(), Check("chk-1", kInGreenwich)});
  EXPECT_EQ(outcomes[1].result, ItemResult::kDuplicate);
  EXPECT_EQ(journal_.rows.size(), 2u);
  auto again = Run({Grant()});
  EXPECT_EQ(again[0].result, ItemResult::kDuplicate) << "the journal is the backstop";
}

// Regression (issue 12): the same (source, id) with different content was silently counted as a
// duplicate, and that one was a fix inside an exclusion zone.
TEST_F(MatcherTest, SameSourceAndIdWithDifferentContentIsAConflictNotADuplicate) {
  Run({Grant(), Check("chk-1", kInGreenwich)});
  // A resend, spaced and ordered differently: still a duplicate.
  auto resent = Run({Message(R"({ "id":"chk-1", "type":"check.person", "source":"checks",
      "time":"2016-08-13T20:59:30Z", "officer_id":"MP-PC5555", "person_id":"PNC-1",
      "at":)" + std::string(kInGreenwich) + "}")});
  EXPECT_EQ(resent[0].result, ItemResult::kDuplicate);
  // Another check under the same id (now inside Lewisham), from the journal and within a batch.
  auto conflicting = Run({Check("chk-1", kInLewisham), Check("chk-2", kInGreenwich),
                          Check("chk-2", kInLewisham)});
  EXPECT_EQ(conflicting[0].result, ItemResult::kRejected);
  EXPECT_EQ(conflicting[0].reason, "conflict");
  EXPECT_NE(conflicting[0].message.find("chk-1"), std::string::npos) << conflicting[0].message;
  EXPECT_EQ(conflicting[1].result, ItemResult::kHandled);
  EXPECT_EQ(conflicting[2].result, ItemResult::kRejected) << "a conflict within one batch";
  EXPECT_EQ(conflicting[2].reason, "conflict");
  EXPECT_EQ(journal_.rows.back().result, "rejected") << "kept in the dead-letter store";
  EXPECT_EQ(journal_.rows.back().reason, "conflict");
}

TEST_F(MatcherTest, BadInputBecomesADeadLetterNamingItsReason) {
  auto outcomes = Run({Message("{not json"), Grant()});
  EXPECT_EQ(outcomes[0].result, ItemResult::kRejected);
  EXPECT_EQ(outcomes[0].reason, "not_json");
  EXPECT_EQ(journal_.rows[0].result, "rejected");
  EXPECT_EQ(outcomes[1].result, ItemResult::kHandled) << "the next message is still handled";
}

TEST_F(MatcherTest, RestoreAfterARefusedCommitLeavesTheEngineAsBefore) {
  Run({Grant()});
  std::vector<ItemOutcome> outcomes;
  InboundMessage varied = Grant();
  varied.payload = R"({"type":"instrument.ended","id":"e-1","source":"custody","time":"2016-06-01T10:00:00Z",
                       "instrument_id":"BAIL/1","reason":"charged"})";
  auto entry = matcher_.Match({Check("chk-1", kInLewisham), varied}, &outcomes);
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  ASSERT_EQ(outcomes[1].result, ItemResult::kHandled) << outcomes[1].message;
  // Applied at once, within the batch: the breach is counted and the bail has ended.
  EXPECT_EQ(engine_.state().breaches.count("PNC-1"), 1u);
  EXPECT_TRUE(engine_.InForce("PNC-1", clock_.Now()).empty());
  journal_.refuse = true;
  ASSERT_FALSE(journal_.Commit(&*entry).ok());
  ASSERT_TRUE(matcher_.Restore().ok());
  EXPECT_FALSE(matcher_.stale());
  EXPECT_EQ(engine_.InForce("PNC-1", clock_.Now()).size(), 1u) << "the end was never committed";
  EXPECT_EQ(engine_.state().breaches.count("PNC-1"), 0u) << "nor the breach";
}

// The journal over the real SQLite store, behind the fault-injecting decorator.
class JournalTest : public ::testing::Test {
 protected:
  JournalTest() {
    auto sqlite = OpenSqliteStore(dir_.File("breachwatch.db"));
    EXPECT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    store_ = std::make_unique<FaultInjectingStore>(std::move(*sqlite), faults_.path());
    journal_ = std::make_unique<StoreJournal>(*store_, policy_);
    EXPECT_TRUE(journal_->LoadSeq().ok());
  }

  void Faults(const std::string& plan) { faults_.Write(plan); }

  static Alert FeedAlert(const std::string& summary) {
    Alert a;
    a.kind = AlertKind::kFeedSilent;
    a.severity = Severity::kCritical;
    a.summary = summary;
    AddRecipient(&a, ControlTopic("E09000023"));
    return a;
  }

  test::ScratchDir dir_{"bw-stages"};
  test::FaultPlan faults_{dir_.File("faults")};
  Policy policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreJournal> journal_;
};

TEST_F(JournalTest, AssignsGapFreeSeqsAndSerialisesEachAlertOnce) {
  JournalEntry entry;
  entry.at = *ParseRfc3339("2016-08-13T21:00:00Z");
  entry.alerts = {FeedAlert("one"), FeedAlert("two")};
  auto committed = journal_->Commit(&entry);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  ASSERT_EQ(committed->alerts.size(), 2u);
  EXPECT_EQ(committed->alerts[0].alert.seq, 1);
  EXPECT_EQ(committed->alerts[1].alert.seq, 2);
  EXPECT_EQ(committed->alerts[0].alert.alert_id.size(), 26u) << "a ULID";
  auto stored = store_->AlertsSince(0, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[1], committed->alerts[1].payload) << "published byte for byte as stored";
}

TEST_F(JournalTest, ARefusedCommitKeepsNothingAndLeavesTheSeqAsItWas) {
  JournalEntry first;
  first.alerts = {FeedAlert("kept")};
  ASSERT_TRUE(journal_->Commit(&first).ok());
  Faults("fail_commit_once");
  JournalEntry refused;
  refused.alerts = {FeedAlert("refused")};
  JournalItem item;
  item.record.channel = "tag";
  item.record.source = "em";
  item.record.msg_id = "m-1";
  item.record.result = "handled";
  refused.items.push_back(item);
  auto result = journal_->Commit(&refused);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(journal_->last_alert_seq(), 1);
  auto handled = journal_->HandledPayload("em", "m-1");
  ASSERT_TRUE(handled.ok());
  EXPECT_FALSE(*handled) << "the inbound row went with the refused commit";
  JournalEntry next;
  next.alerts = {FeedAlert("after")};
  auto committed = journal_->Commit(&next);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->alerts[0].alert.seq, 2) << "no seq is lost to the refusal";
}

// A journal that counts the matcher's replays of the store (Matcher::Restore).
class ReplayCountingJournal final : public test::ForwardingJournal {
 public:
  using ForwardingJournal::ForwardingJournal;
  Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) override {
    ++replays;
    return inner_.ForEachHandled(after_row, fn);
  }

  int replays = 0;
};

// The pipeline: matcher → journal (SQLite + faults) → a real publisher socket.
class PipelineTest : public JournalTest {
 protected:
  PipelineTest()
      : clock_(*ParseRfc3339("2016-08-13T21:00:00Z")),
        engine_(clock_, LondonBoroughs(), Policy{}),
        matcher_journal_(*journal_),
        matcher_(engine_, matcher_journal_, clock_, 65536),
        publisher_(io_, zmq_),
        pipeline_(matcher_, *journal_, publisher_, clock_, io_),
        subscriber_(zmq_, zmq::socket_type::sub) {
    const std::string endpoint = "inproc://bw-stages-" + std::to_string(++endpoints_);
    Status bound = publisher_.Bind({endpoint, 1000, false}, [](zmq::socket_t&) {}, nullptr);
    EXPECT_TRUE(bound.ok()) << bound.ToString();
    publisher_.Start();
    subscriber_.set(zmq::sockopt::subscribe, "officer/MP-PC5555/");
    subscriber_.connect(endpoint);
    // The subscription has arrived once the publisher has read it.
    for (int i = 0; i < 1000 && publisher_.subscriptions() == 0; ++i) {
      io_.poll();
      io_.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(publisher_.subscriptions(), 1);
  }
  ~PipelineTest() override { publisher_.Close(); }

  std::vector<std::string> Received() {
    std::vector<std::string> out;
    std::vector<zmq::message_t> frames;
    while (zmq::recv_multipart(subscriber_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      out.push_back(frames.at(1).to_string());
      frames.clear();
    }
    return out;
  }

  // Distinct exclusion-zone breaches among `received` (one alert reaches each of its topics).
  static int Breaches(const std::vector<std::string>& received) {
    std::set<int64_t> seqs;
    for (const auto& payload : received) {
      const auto alert = boost::json::parse(payload).as_object();
      if (alert.at("kind").as_string() == "exclusion_zone_breach") {
        seqs.insert(alert.at("seq").as_int64());
      }
    }
    return static_cast<int>(seqs.size());
  }

  static inline int endpoints_ = 0;
  ManualClock clock_;
  Engine engine_;
  ReplayCountingJournal matcher_journal_;
  Matcher matcher_;
  boost::asio::io_context io_;
  zmq::context_t zmq_{1};
  Publisher publisher_;
  Pipeline pipeline_;
  zmq::socket_t subscriber_;
};

TEST_F(PipelineTest, AFailedCommitStoresAndPublishesNothingAndLeavesTheSeqAsItWas) {
  ASSERT_TRUE(pipeline_.Handle({Grant()}).has_value());
  const int64_t seq_before = journal_->last_alert_seq();
  Faults("fail_commit_once");
  auto refused = pipeline_.Handle({Check("chk-1", kInLewisham)});
  EXPECT_FALSE(refused.has_value());
  EXPECT_FALSE(pipeline_.stats().store_healthy);
  EXPECT_EQ(journal_->last_alert_seq(), seq_before);
  auto stored = journal_->HandledPayload("checks", "chk-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(*stored) << "nothing of the refused batch is stored";
  EXPECT_TRUE(Received().empty()) << "nothing is published that is not stored";
  EXPECT_EQ(pipeline_.held_entries(), 1u) << "the batch is held as it was decided";

  auto handled = pipeline_.Handle({Check("chk-1", kInLewisham)});
  ASSERT_TRUE(handled.has_value());
  EXPECT_TRUE(pipeline_.stats().store_healthy);
  EXPECT_EQ(pipeline_.held_entries(), 0u);
  ASSERT_EQ(handled->size(), 1u);
  EXPECT_EQ((*handled)[0].result, ItemResult::kHandled) << "not a duplicate of itself";
  EXPECT_TRUE(HasKind((*handled)[0].alerts, AlertKind::kExclusionZoneBreach));
  EXPECT_EQ((*handled)[0].alerts.front().seq, seq_before + 1) << "no seq lost to the failure";
  EXPECT_EQ(engine_.state().breaches.count("PNC-1"), 1u);
  EXPECT_EQ(Breaches(Received()), 1) << "published once, after it was stored";
}

// Issue 12: each failed commit replayed the whole store (about 6 s of a core per failure at 200k
// instruments).  The held entry is committed again instead: the store is never replayed.
TEST_F(PipelineTest, AFailedCommitIsRecoveredFromTheFailedBatchOnlyWithoutReplayingTheStore) {
  ASSERT_TRUE(pipeline_.Handle({Grant()}).has_value());
  Faults("fail_commit");
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_FALSE(pipeline_.Handle({Check("chk-1", kInLewisham)}).has_value());
    EXPECT_FALSE(pipeline_.Recover()) << "the store still refuses";
  }
  EXPECT_GE(pipeline_.stats().store_failures, 6);
  EXPECT_TRUE(Received().empty());
  Faults("");
  EXPECT_TRUE(pipeline_.Recover()) << "the held batch is committed by the tick";
  EXPECT_EQ(pipeline_.held_entries(), 0u);
  EXPECT_EQ(Breaches(Received()), 1) << "its alert is published once it is stored";
  // Intake offers the batch it held: it gets the outcomes as decided, not a duplicate.
  auto handled = pipeline_.Handle({Check("chk-1", kInLewisham)});
  ASSERT_TRUE(handled.has_value());
  ASSERT_EQ(handled->size(), 1u);
  EXPECT_EQ((*handled)[0].result, ItemResult::kHandled);
  EXPECT_TRUE(HasKind((*handled)[0].alerts, AlertKind::kExclusionZoneBreach));
  EXPECT_EQ(Breaches(Received()), 0) << "not published a second time";
  EXPECT_EQ(matcher_journal_.replays, 0) << "the store was replayed to recover";
  // The engine is as it would be had nothing failed: the next check sees the open breach.
  auto next = pipeline_.Handle({Check("chk-2", kInLewisham)});
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ((*next)[0].result, ItemResult::kHandled);
  EXPECT_EQ(engine_.state().breaches.count("PNC-1"), 1u);
}

// A tick that changed the engine and was refused keeps its place: the next batch is not matched
// before it is stored (the journal's order is the order the engine decided in).
TEST_F(PipelineTest, ARefusedEngineChangeIsCommittedBeforeAnythingDecidedAfterIt) {
  ASSERT_TRUE(pipeline_.Handle({Grant()}).has_value());
  Faults("fail_commit_once");
  JournalEntry tick;
  tick.at = clock_.Now();
  JournalItem item;
  item.record.received_at = clock_.Now();
  item.record.channel = kTickChannel;
  item.record.topic = kTickChannel;
  item.record.payload = FormatRfc3339(clock_.Now());
  item.record.result = "handled";
  tick.items.push_back(item);
  EXPECT_FALSE(pipeline_.Commit(std::move(tick), /*engine_changed=*/true).ok());
  EXPECT_EQ(pipeline_.held_entries(), 1u);
  auto handled = pipeline_.Handle({Check("chk-1", kInLewisham)});
  ASSERT_TRUE(handled.has_value()) << "the store accepts again: the held tick goes first";
  EXPECT_EQ(pipeline_.held_entries(), 0u);
  int tick_rows = 0;
  ASSERT_TRUE(journal_
                  ->ForEachHandled(0,
                                   [&](int64_t, const std::string& channel, const std::string&) {
                                     if (channel == kTickChannel) ++tick_rows;
                                   })
                  .ok());
  EXPECT_EQ(tick_rows, 1);
}

TEST_F(PipelineTest, DaemonAlertsRefusedByTheStoreAreRaisedAgain) {
  Faults("fail_commit_once");
  Alert a = FeedAlert("silent");
  a.recipients = {OfficerTopic("MP-PC5555")};
  pipeline_.Raise({a});
  EXPECT_EQ(pipeline_.stats().pending_daemon_alerts, 1);
  EXPECT_TRUE(Received().empty());
  pipeline_.Raise({});
  EXPECT_EQ(pipeline_.stats().pending_daemon_alerts, 0);
  EXPECT_EQ(journal_->last_alert_seq(), 1);
  EXPECT_EQ(Received().size(), 1u);
}

}  // namespace
}  // namespace bw
