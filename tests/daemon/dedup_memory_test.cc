// Deduplication from memory (issue 14): the matcher answers "new" and "resent byte for byte" from
// its memory of handled ids (daemon/recent_ids.h) and reads the journal only when the memory
// cannot tell; what the journal decided before stays decided: a resend is a duplicate, another
// message under a used id a conflict, across batches, restarts and the memory's window.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "daemon/journal.h"
#include "daemon/matcher.h"
#include "daemon/recent_ids.h"
#include "handlers/base/time_util.h"
#include "tests/daemon/stage_support.h"
#include "tests/scratch_dir.h"
#include "tests/unit/handlers/engine_fixture.h"

namespace bw {
namespace {

using test::Check;
using test::Grant;
using test::kInGreenwich;
using test::kInLewisham;
using test::Message;

TEST(RecentIds, NeverCallsNewWhatItWasGivenAcrossLayers) {
  RecentIds ids(/*window=*/16);
  ids.set_complete(true);
  constexpr int kPairs = 300000;  // more than the first layer holds
  for (int i = 0; i < kPairs; ++i) ids.AddKey("em", "m-" + std::to_string(i));
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_NE(ids.Check("em", "m-" + std::to_string(i), "{}"), RecentIds::Verdict::kNew) << i;
  }
  // A false positive costs a journal read that waits for the commit in progress: at most 1 in
  // 10,000 over the four layers 300,000 pairs fill (16 bits and 8 probes a pair let about 15 in).
  int said_new = 0;
  for (int i = 0; i < 100000; ++i) {
    said_new += ids.Check("em", "other-" + std::to_string(i), "{}") == RecentIds::Verdict::kNew;
  }
  EXPECT_GE(said_new, 99990) << "false positives cost a journal read each";
  EXPECT_LT(ids.filter_bytes(), size_t{2} * 1024 * 1024);
}

TEST(RecentIds, AResendInTheWindowIsKnownAndAnotherPayloadIsAskedOfTheJournal) {
  RecentIds ids(/*window=*/2);
  ids.set_complete(true);
  ids.Add("em", "a", "payload-a");
  EXPECT_EQ(ids.Check("em", "a", "payload-a"), RecentIds::Verdict::kResend);
  EXPECT_EQ(ids.Check("em", "a", "payload-A"), RecentIds::Verdict::kAskJournal);
  EXPECT_EQ(ids.Check("other", "a", "payload-a"), RecentIds::Verdict::kNew);
  ids.Add("em", "b", "payload-b");
  ids.Add("em", "c", "payload-c");
  EXPECT_EQ(ids.Check("em", "a", "payload-a"), RecentIds::Verdict::kAskJournal)
      << "out of the window: only the filter remembers it";
  ids.Clear();
  EXPECT_EQ(ids.Check("em", "zzz", "x"), RecentIds::Verdict::kAskJournal)
      << "incomplete: cannot say new";
}

// A journal over the real SQLite store that counts the duplicate checks read from it.
// The store's journal, owned here and constructed before the forwarding base that uses it.
struct OwnedStoreJournal {
  OwnedStoreJournal(Store& store, const Policy& policy) : store_journal(store, policy) {}
  StoreJournal store_journal;
};

class CountingJournal final : private OwnedStoreJournal, public test::ForwardingJournal {
 public:
  CountingJournal(Store& store, const Policy& policy)
      : OwnedStoreJournal(store, policy), ForwardingJournal(store_journal) {}
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override {
    ++reads;
    return inner_.HandledPayload(source, msg_id);
  }
  Status ForEachHandledKey(const Store::HandledKeyFn& fn) override {
    return inner_.ForEachHandledKey(fn);
  }

  int reads = 0;
};

// A daemon's matcher over a store that outlives it: Restart() is a new matcher and engine on
// the same file, as after a restart.
class DedupMemoryTest : public ::testing::Test {
 protected:
  DedupMemoryTest() { Restart(RecentIds::kDefaultWindow); }
  ~DedupMemoryTest() override {
    matcher_.reset();
    journal_.reset();
    store_.reset();
  }

  void Restart(size_t window) {
    matcher_.reset();
    journal_.reset();
    engine_.reset();
    store_.reset();
    auto store = OpenSqliteStore(dir_.File("breachwatch.db"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    journal_ = std::make_unique<CountingJournal>(*store_, policy_);
    ASSERT_TRUE(journal_->LoadSeq().ok());
    engine_ = std::make_unique<Engine>(clock_, test::LondonBoroughs(), Policy{});
    matcher_ = std::make_unique<Matcher>(*engine_, *journal_, clock_, 65536, window);
    ASSERT_TRUE(matcher_->Restore().ok());
    journal_->reads = 0;
  }

  std::vector<ItemOutcome> Run(const std::vector<InboundMessage>& batch) {
    std::vector<ItemOutcome> outcomes;
    auto entry = matcher_->Match(batch, &outcomes);
    EXPECT_TRUE(entry.ok()) << entry.status().ToString();
    if (entry.ok()) {
      EXPECT_TRUE(journal_->Commit(&*entry).ok());
    }
    return outcomes;
  }

  ManualClock clock_{*ParseRfc3339("2016-08-13T21:00:00Z")};
  Policy policy_;
  test::ScratchDir dir_{"bw-dedup"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<CountingJournal> journal_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Matcher> matcher_;
};

// Regression (issue 14): every message read the (source, id) B-tree of the store to deduplicate.
TEST_F(DedupMemoryTest, NewMessagesAreNotLookedUpInTheJournal) {
  Run({Grant()});
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Check("chk-" + std::to_string(i), kInGreenwich));
  auto outcomes = Run(batch);
  for (const auto& o : outcomes) EXPECT_EQ(o.result, ItemResult::kHandled) << o.message;
  EXPECT_EQ(journal_->reads, 0);
  EXPECT_EQ(matcher_->dedup_journal_reads(), 0);
  // After a restart the memory is rebuilt from the store: still no reads for new ids.
  Restart(RecentIds::kDefaultWindow);
  EXPECT_EQ(Run({Check("chk-new", kInGreenwich)})[0].result, ItemResult::kHandled);
  EXPECT_EQ(journal_->reads, 0);
}

TEST_F(DedupMemoryTest, AResendIsADuplicateFromMemoryAndAfterARestart) {
  Run({Grant(), Check("chk-1", kInGreenwich)});
  EXPECT_EQ(Run({Check("chk-1", kInGreenwich)})[0].result, ItemResult::kDuplicate);
  EXPECT_EQ(journal_->reads, 0) << "a byte-for-byte resend of a recent id";
  Restart(RecentIds::kDefaultWindow);
  EXPECT_EQ(Run({Check("chk-1", kInGreenwich)})[0].result, ItemResult::kDuplicate);
  EXPECT_EQ(Run({Grant()})[0].result, ItemResult::kDuplicate);
  auto handled = store_->Counts();
  ASSERT_TRUE(handled.ok());
  EXPECT_EQ(handled->inbound_handled, 2) << "stored once";
}

// The memory keeps a payload fingerprint for recent ids only: a conflict under an id older than
// the window must still be found (the filter says "maybe", the journal tells).
TEST_F(DedupMemoryTest, AConflictBeyondTheWindowIsStillAConflict) {
  Restart(/*window=*/1);
  Run({Grant(), Check("chk-1", kInGreenwich), Check("chk-2", kInGreenwich)});
  auto conflicting = Run({Check("chk-1", kInLewisham)});
  EXPECT_EQ(conflicting[0].result, ItemResult::kRejected);
  EXPECT_EQ(conflicting[0].reason, "conflict");
  EXPECT_EQ(journal_->reads, 1);
  // The same JSON written differently (beyond the window too) is a resend.
  auto resent = Run({Message(R"({ "id":"chk-1", "type":"check.person", "source":"checks",
      "time":"2016-08-13T20:59:30Z", "officer_id":"MP-PC5555", "person_id":"PNC-1",
      "at":)" + std::string(kInGreenwich) + "}")});
  EXPECT_EQ(resent[0].result, ItemResult::kDuplicate);
  // And after a restart, in the window or not.
  Restart(RecentIds::kDefaultWindow);
  auto again = Run({Check("chk-2", kInLewisham), Check("chk-1", kInLewisham)});
  EXPECT_EQ(again[0].reason, "conflict");
  EXPECT_EQ(again[1].reason, "conflict");
}

// Within the window, a different payload under a recent id is read from the journal: the
// fingerprint alone cannot tell a resend written differently from a conflict.
TEST_F(DedupMemoryTest, AConflictInTheWindowIsAConflict) {
  Run({Grant(), Check("chk-1", kInGreenwich)});
  auto conflicting = Run({Check("chk-1", kInLewisham)});
  EXPECT_EQ(conflicting[0].result, ItemResult::kRejected);
  EXPECT_EQ(conflicting[0].reason, "conflict");
  EXPECT_EQ(journal_->reads, 1);
}

}  // namespace
}  // namespace bw
