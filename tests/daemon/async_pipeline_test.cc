// The pipeline on two threads (issue 14, docs/architecture.md "Threads"): the matcher decides on
// the test's thread (the loop) while the committer commits on its own.  A journal whose group
// commit waits at a gate the test opens proves the overlap without timing: batch N+1 is decided
// while batch N's commit is provably unfinished.  Pinned down here: alerts are published only once
// their entry is durable; entries queued during a commit are committed together in one
// transaction; a refused group is held in order and committed again unchanged; the journal keeps
// the order things were decided in; backpressure bounds the batches in flight.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/fault_injecting_store.h"
#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/pipeline.h"
#include "daemon/publisher.h"
#include "daemon/synchronized_store.h"
#include "handlers/base/time_util.h"
#include "tests/daemon/stage_support.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using test::Check;
using test::Grant;
using test::kInGreenwich;
using test::kInLewisham;

// A journal whose group commits wait at a gate (on the committer's thread) until the test opens
// it, and which records the size of every group it was handed.
class GatedJournal final : public test::ForwardingJournal {
 public:
  using ForwardingJournal::ForwardingJournal;

  GroupCommit CommitGroup(const std::vector<JournalEntry*>& entries) override {
    {
      std::unique_lock lock(mu_);
      const size_t index = groups_.size();
      groups_.push_back(entries.size());
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
      if (before_group_) before_group_(index);
    }
    return inner_.CommitGroup(entries);
  }

  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` groups have reached the gate (the n-th commit is under way, not finished).
  void AwaitGroups(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return groups_.size() >= n; });
  }
  std::vector<size_t> groups() {
    std::lock_guard lock(mu_);
    return groups_;
  }
  // Runs on the committer's thread before the group numbered `index` (0-based) is committed.
  void set_before_group(std::function<void(size_t index)> fn) {
    std::lock_guard lock(mu_);
    before_group_ = std::move(fn);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::vector<size_t> groups_;
  std::function<void(size_t)> before_group_;
};

class AsyncPipelineTest : public ::testing::Test {
 protected:
  AsyncPipelineTest() : AsyncPipelineTest(Pipeline::Options{}) {}
  explicit AsyncPipelineTest(Pipeline::Options options)
      : dir_(std::filesystem::temp_directory_path() /
             ("bw-async-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        plan_(Prepare(dir_)),
        store_(std::make_unique<FaultInjectingStore>(Open(dir_), plan_)),
        journal_(store_, policy_),
        gated_(journal_),
        clock_(*ParseRfc3339("2016-08-13T21:00:00Z")),
        engine_(clock_, test::LondonBoroughs(), Policy{}),
        matcher_(engine_, gated_, clock_, 65536),
        publisher_(io_, zmq_),
        subscriber_(zmq_, zmq::socket_type::sub) {
    EXPECT_TRUE(journal_.LoadSeq().ok());
    const std::string endpoint = "inproc://bw-async-" + std::to_string(++endpoints_);
    Status bound = publisher_.Bind({endpoint, 1000, false}, [](zmq::socket_t&) {}, nullptr);
    EXPECT_TRUE(bound.ok()) << bound.ToString();
    publisher_.Start();
    subscriber_.set(zmq::sockopt::subscribe, "officer/MP-PC5555/");
    subscriber_.connect(endpoint);
    for (int i = 0; i < 1000 && publisher_.subscriptions() == 0; ++i) {
      io_.poll();
      io_.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(publisher_.subscriptions(), 1);
    pipeline_ = std::make_unique<Pipeline>(matcher_, gated_, publisher_, clock_, io_, options);
  }
  ~AsyncPipelineTest() override {
    gated_.Open();
    pipeline_.reset();
    publisher_.Close();
    std::filesystem::remove_all(dir_);
  }

  static std::string Prepare(const std::filesystem::path& dir) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return (dir / "faults").string();
  }
  static std::unique_ptr<Store> Open(const std::filesystem::path& dir) {
    auto sqlite = OpenSqliteStore((dir / "breachwatch.db").string());
    EXPECT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    return std::move(*sqlite);
  }
  // Called on the committer's thread only while the test's thread waits for it.
  void Faults(const std::string& plan) {
    std::ofstream(plan_) << plan << "\n";
    std::filesystem::last_write_time(
        plan_, std::filesystem::last_write_time(plan_) + std::chrono::seconds(++plans_));
  }

  // Submits `batch`; what comes back is recorded in `done_` under `name`, in completion order.
  void Submit(const std::string& name, std::vector<InboundMessage> batch) {
    pipeline_->Submit(std::move(batch),
                      [this, name](std::vector<InboundMessage>,
                                   std::optional<std::vector<ItemOutcome>> outcomes) {
                        done_.emplace_back(name, std::move(outcomes));
                      });
  }

  std::vector<std::string> Received() {
    io_.poll();
    io_.restart();
    std::vector<std::string> out;
    std::vector<zmq::message_t> frames;
    while (zmq::recv_multipart(subscriber_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      out.push_back(frames.at(1).to_string());
      frames.clear();
    }
    return out;
  }
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
  bool Stored(const std::string& source, const std::string& id) {
    auto payload = store_.HandledPayload(source, id);
    EXPECT_TRUE(payload.ok());
    return payload.ok() && payload->has_value();
  }
  // The msg_ids of the handled rows, in journal order.
  std::vector<std::string> JournalOrder() {
    std::vector<std::string> ids;
    EXPECT_TRUE(store_
                    .ForEachHandled(0,
                                    [&](int64_t, const std::string&, const std::string& payload) {
                                      ids.push_back(std::string(
                                          boost::json::parse(payload).as_object().at("id")
                                              .as_string()));
                                    })
                    .ok());
    return ids;
  }

  static inline int endpoints_ = 0;
  std::filesystem::path dir_;
  std::string plan_;
  int plans_ = 0;
  Policy policy_;
  SynchronizedStore store_;
  StoreJournal journal_;
  GatedJournal gated_;
  ManualClock clock_;
  Engine engine_;
  Matcher matcher_;
  boost::asio::io_context io_;
  zmq::context_t zmq_{1};
  Publisher publisher_;
  zmq::socket_t subscriber_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::pair<std::string, std::optional<std::vector<ItemOutcome>>>> done_;
};

TEST_F(AsyncPipelineTest, BatchNPlusOneIsDecidedWhileBatchNCommits) {
  gated_.Close();
  Submit("grant", {Grant()});
  gated_.AwaitGroups(1);  // the grant's commit has begun on the committer's thread and waits
  Submit("check", {Check("chk-1", kInLewisham)});
  // Decided on this thread while the grant is still being committed on the other.
  EXPECT_EQ(engine_.state().breaches.count("PNC-1"), 1u) << "the next batch was not decided";
  EXPECT_EQ(pipeline_->in_flight(), 2u);
  EXPECT_TRUE(done_.empty()) << "nothing completes before its commit";
  EXPECT_EQ(gated_.groups().size(), 1u) << "the grant's commit has not finished";
  gated_.Open();
  pipeline_->Flush();
  ASSERT_EQ(done_.size(), 2u);
  EXPECT_EQ(done_[0].first, "grant");
  EXPECT_EQ(done_[1].first, "check");
  ASSERT_TRUE(done_[1].second.has_value());
  EXPECT_EQ((*done_[1].second)[0].result, ItemResult::kHandled);
  EXPECT_EQ(Breaches(Received()), 1);
  EXPECT_EQ(JournalOrder(), (std::vector<std::string>{"g-1", "chk-1"}));
}

TEST_F(AsyncPipelineTest, AlertsAreNotPublishedBeforeTheirEntryIsDurable) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  gated_.Close();
  Submit("check", {Check("chk-1", kInLewisham)});
  gated_.AwaitGroups(2);
  // The loop runs on (as the daemon's would) while the commit waits: nothing is published, nothing
  // of the entry is visible in the store, no outcome is given.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Received().empty());
  EXPECT_FALSE(Stored("checks", "chk-1")) << "decided, not committed: not visible";
  EXPECT_TRUE(done_.empty());
  gated_.Open();
  pipeline_->Flush();
  EXPECT_TRUE(Stored("checks", "chk-1"));
  ASSERT_EQ(done_.size(), 1u);
  ASSERT_TRUE(done_[0].second.has_value());
  EXPECT_EQ(Breaches(Received()), 1) << "published once durable";
}

TEST_F(AsyncPipelineTest, EntriesQueuedDuringACommitAreCommittedTogetherInOneTransaction) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  gated_.Close();
  Submit("a", {Check("chk-a", kInGreenwich)});
  gated_.AwaitGroups(2);
  Submit("b", {Check("chk-b", kInGreenwich)});
  Submit("c", {Check("chk-c", kInGreenwich)});
  Submit("d", {Check("chk-d", kInLewisham)});
  gated_.Open();
  pipeline_->Flush();
  EXPECT_EQ(gated_.groups(), (std::vector<size_t>{1, 1, 3})) << "b, c and d: one group";
  const auto stats = pipeline_->committer_stats();
  EXPECT_EQ(stats.groups, 3);
  EXPECT_EQ(stats.entries, 5);
  EXPECT_EQ(stats.largest_group, 3);
  ASSERT_EQ(done_.size(), 4u);
  for (const auto& [name, outcomes] : done_) {
    ASSERT_TRUE(outcomes.has_value()) << name;
    EXPECT_EQ((*outcomes)[0].result, ItemResult::kHandled) << name;
    EXPECT_GT((*outcomes)[0].inbound_row, 0) << name;
  }
  EXPECT_EQ(Breaches(Received()), 1);
  EXPECT_EQ(JournalOrder(), (std::vector<std::string>{"g-1", "chk-a", "chk-b", "chk-c", "chk-d"}));
}

// A refused group keeps nothing of any of its entries; they are held in the order they were
// decided and committed again as decided: the breach decided before the failure is published once,
// with the seq it would have had, and intake's batches get the outcomes decided the first time.
TEST_F(AsyncPipelineTest, ARefusedGroupIsHeldInOrderAndCommittedAgainUnchanged) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  gated_.Close();
  Submit("x", {Check("chk-0", kInGreenwich)});
  gated_.AwaitGroups(2);
  Submit("a", {Check("chk-1", kInLewisham)});
  Submit("b", {Check("chk-2", kInGreenwich)});
  Submit("c", {Check("chk-3", kInGreenwich)});
  gated_.set_before_group([this](size_t index) {
    if (index == 2) Faults("fail_commit_once");
  });
  gated_.Open();
  pipeline_->Flush();
  EXPECT_EQ(gated_.groups(), (std::vector<size_t>{1, 1, 3}));
  // x was committed (its check result raised an alert); the refused group's were not.
  const int64_t seq_before = journal_.last_alert_seq();
  ASSERT_EQ(done_.size(), 4u);
  EXPECT_EQ(done_[0].first, "x");
  EXPECT_TRUE(done_[0].second.has_value());
  for (size_t i = 1; i < 4; ++i) EXPECT_FALSE(done_[i].second.has_value()) << done_[i].first;
  EXPECT_EQ(done_[1].first, "a");
  EXPECT_EQ(done_[2].first, "b");
  EXPECT_EQ(done_[3].first, "c");
  EXPECT_EQ(pipeline_->held_entries(), 3u);
  EXPECT_FALSE(pipeline_->stats().store_healthy);
  EXPECT_TRUE(Stored("checks", "chk-0"));
  for (const char* id : {"chk-1", "chk-2", "chk-3"}) EXPECT_FALSE(Stored("checks", id)) << id;
  EXPECT_EQ(journal_.last_alert_seq(), seq_before) << "the refused group's seqs rolled back";
  int64_t seqs_before_x = 0;
  ASSERT_TRUE(done_[0].second.has_value());
  for (const auto& a : (*done_[0].second)[0].alerts) seqs_before_x = std::max(seqs_before_x, a.seq);
  EXPECT_EQ(seqs_before_x, seq_before) << "x's alerts are the last committed";
  EXPECT_EQ(Breaches(Received()), 0) << "nothing published that is not stored";
  // Nothing new is matched while they are held.
  Submit("later", {Check("chk-4", kInGreenwich)});
  ASSERT_EQ(done_.size(), 5u);
  EXPECT_FALSE(done_[4].second.has_value());

  const size_t groups_before = gated_.groups().size();
  ASSERT_TRUE(pipeline_->Recover()) << "the store accepts again: the held entries are committed";
  EXPECT_EQ(pipeline_->held_entries(), 0u);
  // However the committer's thread groups them (it may take the first before the others are
  // queued), the three are committed again, and nothing else with them.
  const auto groups = gated_.groups();
  size_t recommitted = 0;
  for (size_t i = groups_before; i < groups.size(); ++i) recommitted += groups[i];
  EXPECT_EQ(recommitted, 3u);
  const auto received = Received();
  EXPECT_EQ(Breaches(received), 1);
  for (const auto& payload : received) {
    const auto alert = boost::json::parse(payload).as_object();
    if (alert.at("kind").as_string() != "exclusion_zone_breach") continue;
    EXPECT_GT(alert.at("seq").as_int64(), seq_before);
  }
  // Intake offers its held batches again, in order: the outcomes decided the first time.
  for (const char* id : {"chk-1", "chk-2", "chk-3"}) {
    auto again =
        pipeline_->Handle({Check(id, std::string(id) == "chk-1" ? kInLewisham : kInGreenwich)});
    ASSERT_TRUE(again.has_value()) << id;
    EXPECT_EQ((*again)[0].result, ItemResult::kHandled) << id << ": not a duplicate of itself";
  }
  auto later = pipeline_->Handle({Check("chk-4", kInGreenwich)});
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ((*later)[0].result, ItemResult::kHandled);
  EXPECT_EQ(Breaches(Received()), 0) << "not published a second time";
  EXPECT_EQ(JournalOrder(),
            (std::vector<std::string>{"g-1", "chk-0", "chk-1", "chk-2", "chk-3", "chk-4"}));
}

// Regression: a message decided but not yet durable is known to deduplication.  The journal
// cannot tell (its entry is not committed), so a different payload under the same id would have
// been handled a second time (and the store's uniqueness would then refuse the whole group).
TEST_F(AsyncPipelineTest, AnIdDecidedButNotYetDurableIsAConflictNotHandledTwice) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  gated_.Close();
  Submit("first", {Check("chk-1", kInGreenwich)});
  gated_.AwaitGroups(2);
  Submit("resent", {Check("chk-1", kInGreenwich)});
  Submit("other", {Check("chk-1", kInLewisham)});
  gated_.Open();
  pipeline_->Flush();
  ASSERT_EQ(done_.size(), 3u);
  for (const auto& [name, outcomes] : done_) ASSERT_TRUE(outcomes.has_value()) << name;
  EXPECT_EQ((*done_[0].second)[0].result, ItemResult::kHandled);
  EXPECT_EQ((*done_[1].second)[0].result, ItemResult::kDuplicate);
  EXPECT_EQ((*done_[2].second)[0].result, ItemResult::kRejected);
  EXPECT_EQ((*done_[2].second)[0].reason, "conflict");
  EXPECT_TRUE(pipeline_->stats().store_healthy);
  EXPECT_EQ(Breaches(Received()), 0);
}

// Each source's events reach the journal, and their outcomes intake, in the order they were read,
// however the commits group them.
TEST_F(AsyncPipelineTest, OrderPerSourceIsKeptAcrossGroups) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  std::vector<std::string> expected = {"g-1"};
  for (int round = 0; round < 3; ++round) {
    gated_.Close();
    for (int b = 0; b < 4; ++b) {
      std::vector<InboundMessage> batch;
      for (int m = 0; m < 3; ++m) {
        const std::string id = "chk-" + std::to_string(round) + "-" + std::to_string(b) + "-" +
                               std::to_string(m);
        batch.push_back(Check(id, kInGreenwich));
        expected.push_back(id);
      }
      Submit(std::to_string(round * 4 + b), std::move(batch));
    }
    gated_.Open();
    if (round == 1) pipeline_->Flush();
  }
  pipeline_->Flush();
  ASSERT_EQ(done_.size(), 12u);
  for (size_t i = 0; i < done_.size(); ++i) EXPECT_EQ(done_[i].first, std::to_string(i));
  EXPECT_EQ(JournalOrder(), expected);
}

class BackpressureTest : public AsyncPipelineTest {
 protected:
  BackpressureTest() : AsyncPipelineTest(Pipeline::Options{2, 64}) {}
};

TEST_F(BackpressureTest, NoRoomWhileTheBoundIsInFlightAndRoomOnceOneCompletes) {
  ASSERT_TRUE(pipeline_->Handle({Grant()}).has_value());
  int rooms = 0;
  pipeline_->set_on_room([&] { ++rooms; });
  gated_.Close();
  EXPECT_TRUE(pipeline_->has_room());
  Submit("a", {Check("chk-a", kInGreenwich)});
  EXPECT_TRUE(pipeline_->has_room());
  Submit("b", {Check("chk-b", kInGreenwich)});
  EXPECT_FALSE(pipeline_->has_room()) << "two batches in flight: the bound";
  gated_.AwaitGroups(2);
  EXPECT_FALSE(pipeline_->has_room()) << "nothing completed";
  EXPECT_EQ(rooms, 0);
  gated_.Open();
  // Completions arrive on the loop (posted by the committer's thread).
  while (done_.size() < 2) {
    if (io_.run_one_for(std::chrono::milliseconds(100)) == 0) io_.restart();
  }
  EXPECT_TRUE(pipeline_->has_room());
  EXPECT_EQ(rooms, 1) << "told once when there was room again";
}

}  // namespace
}  // namespace bw
