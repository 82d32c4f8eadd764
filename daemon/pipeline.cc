#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include "handlers/base/time_util.h"

namespace bw {

Pipeline::Pipeline(Matcher& matcher, Journal& journal, Publisher& publisher, const Clock& clock,
                   boost::asio::io_context& io, Options options)
    : matcher_(matcher),
      journal_(journal),
      publisher_(publisher),
      clock_(clock),
      io_(io),
      options_(options) {
  matcher_.set_remembers_uncommitted(true);
  committer_ = std::make_unique<Committer>(journal_, options_.max_group, [this, alive = alive_] {
    // The committer's thread: only post (the pipeline is the loop's).
    boost::asio::post(io_, [this, alive] {
      if (*alive) TakeCompletions();
    });
  });
}

Pipeline::~Pipeline() {
  *alive_ = false;
  committer_.reset();  // commits what is queued, joins the thread
}
namespace {

// Whether intake offers the batch that was matched (a held batch comes back unchanged).
bool SameBatch(const std::vector<InboundMessage>& a, const std::vector<InboundMessage>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].channel != b[i].channel || a[i].topic != b[i].topic || a[i].payload != b[i].payload) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Pipeline::Submit(std::vector<InboundMessage> batch, BatchDone done) {
  // While anything is held, nothing new is matched: intake holds this batch behind the others.
  if (!held_.empty() || !done_batches_.empty() || matcher_.stale()) {
    done(std::move(batch), std::nullopt);
    return;
  }
  InFlight flight;
  flight.kind = InFlight::Kind::kBatch;
  flight.started = std::chrono::steady_clock::now();
  auto entry = matcher_.Match(batch, &flight.outcomes);
  if (!entry.ok()) {
    // The matcher stopped part-way (the journal could not be read): what it applied of the batch
    // cannot be told apart, so the engine is rebuilt, once nothing is in flight.
    spdlog::error("store failure matching {} message(s): {}", batch.size(),
                  entry.status().ToString());
    Flush();
    Refused(entry.status());
    DropHeldAndRestore("the matcher could not finish the batch");
    last_progress_ = std::chrono::steady_clock::now();
    done(std::move(batch), std::nullopt);
    return;
  }
  flight.batch = std::move(batch);
  flight.batch_done = std::move(done);
  Send(std::move(*entry), std::move(flight));
}

std::optional<std::vector<ItemOutcome>> Pipeline::Handle(const std::vector<InboundMessage>& batch) {
  Flush();
  // A held batch committed since (by Recover, or with the one offered before it): the outcomes as
  // they were decided.
  if (!done_batches_.empty() && SameBatch(done_batches_.front().batch, batch)) {
    auto outcomes = std::move(done_batches_.front().outcomes);
    done_batches_.pop_front();
    last_progress_ = std::chrono::steady_clock::now();
    return outcomes;
  }
  // What was refused earlier goes first, unchanged; while it is refused, nothing new is matched.
  if (!held_.empty()) {
    if (held_.front().from_batch && !SameBatch(held_.front().batch, batch)) {
      DropHeldAndRestore("intake offered a batch other than the held one");
    } else if (!CommitHeld()) {
      last_progress_ = std::chrono::steady_clock::now();  // offered; the store refused
      return std::nullopt;
    }
  }
  if (!done_batches_.empty()) {
    if (SameBatch(done_batches_.front().batch, batch)) {
      // Refused before, committed since by Recover(): the outcomes as they were decided.
      auto outcomes = std::move(done_batches_.front().outcomes);
      done_batches_.pop_front();
      last_progress_ = std::chrono::steady_clock::now();
      return outcomes;
    }
    spdlog::error("a held batch was committed but intake offers another one first");
    done_batches_.clear();
  }
  std::optional<std::vector<ItemOutcome>> result;
  bool completed = false;
  Submit(batch, [&](std::vector<InboundMessage>, std::optional<std::vector<ItemOutcome>> outcomes) {
    result = std::move(outcomes);
    completed = true;
  });
  Flush();
  if (!completed) spdlog::critical("a batch handed to the journal never completed");
  return result;
}

void Pipeline::Send(JournalEntry entry, InFlight flight) {
  // Nothing in flight: every refusal was taken, and everything refused is held here.  What is
  // sent now may be committed (behind a refusal still in flight, it is refused too: order).
  if (in_flight_.empty()) committer_->Resume();
  flight.ticket = committer_->Enqueue(std::move(entry));
  in_flight_.push_back(std::move(flight));
}

void Pipeline::Flush() {
  while (!in_flight_.empty()) {
    committer_->WaitIdle();
    TakeCompletions();
  }
}

void Pipeline::TakeCompletions() {
  while (!in_flight_.empty()) {
    auto c = committer_->TakeCompleted();
    if (!c) return;
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (f.ticket != c->ticket) {
      spdlog::critical("commit completions out of order: ticket {} for {}", c->ticket, f.ticket);
    }
    Complete(std::move(*c), std::move(f));
    if (on_room_ && in_flight_.size() + 1 == options_.max_in_flight) on_room_();
  }
}

void Pipeline::Complete(Committer::Completion c, InFlight f) {
  using Kind = InFlight::Kind;
  const bool is_batch = f.kind == Kind::kBatch || f.kind == Kind::kHeldBatch;
  if (c.status.ok()) {
    if (is_batch) matcher_.BatchDurable();
    Finish(c.entry, c.committed, is_batch ? &f.outcomes : nullptr, f.started);
    switch (f.kind) {
      case Kind::kBatch:
        f.batch_done(std::move(f.batch), std::move(f.outcomes));
        break;
      case Kind::kHeldBatch:
        spdlog::info("held entry ({} message(s), {} alert(s)) committed as it was decided",
                     c.entry.items.size(), c.committed.alerts.size());
        done_batches_.push_back(Held{std::move(c.entry), true, std::move(f.outcomes),
                                     std::move(f.batch)});
        break;
      case Kind::kEngineChange:
      case Kind::kPlain:
        if (f.commit_done) f.commit_done(std::move(c.committed));
        break;
    }
    return;
  }
  last_progress_ = std::chrono::steady_clock::now();  // offered; the store refused
  switch (f.kind) {
    case Kind::kBatch:
      spdlog::error("store failure, {} message(s) not yet stored (held, committed again as "
                    "decided): {}",
                    f.batch.size(), c.status.ToString());
      Refused(c.status);
      held_.push_back(Held{std::move(c.entry), true, f.outcomes, f.batch});
      f.batch_done(std::move(f.batch), std::nullopt);
      break;
    case Kind::kHeldBatch:
      Refused(c.status);
      held_.push_back(Held{std::move(c.entry), true, std::move(f.outcomes), std::move(f.batch)});
      break;
    case Kind::kEngineChange:
      Refused(c.status);
      held_.push_back(Held{std::move(c.entry)});
      if (f.commit_done) f.commit_done(c.status);
      break;
    case Kind::kPlain:
      if (f.commit_done) f.commit_done(c.status);
      break;
  }
}

void Pipeline::Finish(JournalEntry& entry, CommittedBatch& committed,
                      std::vector<ItemOutcome>* outcomes,
                      std::chrono::steady_clock::time_point started) {
  if (outcomes) {
    // Each outcome that made an item gets its row and its alerts as committed.
    size_t item = 0;
    for (auto& out : *outcomes) {
      if (out.result == ItemResult::kDuplicate) continue;
      out.inbound_row = committed.inbound_rows[item];
      out.alerts = entry.items[item].alerts;
      ++item;
    }
  }
  Committed(std::chrono::steady_clock::now() - started);
  publisher_.Publish(committed.alerts);
  last_progress_ = std::chrono::steady_clock::now();
}

bool Pipeline::CommitHeld() {
  Flush();
  if (held_.empty()) return true;
  std::vector<Held> held;
  held.swap(held_);
  for (auto& h : held) {
    InFlight flight;
    flight.kind = h.from_batch ? InFlight::Kind::kHeldBatch : InFlight::Kind::kEngineChange;
    flight.started = std::chrono::steady_clock::now();
    flight.outcomes = std::move(h.outcomes);
    flight.batch = std::move(h.batch);
    Send(std::move(h.entry), std::move(flight));
  }
  Flush();  // what is refused again is held again, in order
  return held_.empty();
}

void Pipeline::DropHeldAndRestore(const char* why) {
  if (!held_.empty()) {
    spdlog::error("{}: {} held entr(ies) dropped; their messages are offered again", why,
                  held_.size());
  }
  held_.clear();
  done_batches_.clear();
  if (!matcher_.Restore().ok()) {
    spdlog::error("engine state is stale until the store can be read again");
  }
}

Result<CommittedBatch> Pipeline::Commit(JournalEntry entry, bool engine_changed) {
  Flush();
  if (engine_changed && !held_.empty() && !CommitHeld()) {
    // Decided on top of what is held: it keeps its place behind it.
    held_.push_back(Held{std::move(entry)});
    return Status::Unavailable("the store refuses commits; held behind earlier entries");
  }
  std::optional<Result<CommittedBatch>> result;
  InFlight flight;
  flight.kind = engine_changed ? InFlight::Kind::kEngineChange : InFlight::Kind::kPlain;
  flight.started = std::chrono::steady_clock::now();
  flight.commit_done = [&result](Result<CommittedBatch> r) { result = std::move(r); };
  Send(std::move(entry), std::move(flight));
  Flush();
  if (!result) return Status::Internal("the journal never completed the entry");
  if (!result->ok() && !engine_changed) Refused(result->status());
  return std::move(*result);
}

Result<CommittedBatch> Pipeline::CommitNow(JournalEntry entry) {
  Flush();
  std::optional<Result<CommittedBatch>> result;
  InFlight flight;
  flight.kind = InFlight::Kind::kPlain;
  flight.started = std::chrono::steady_clock::now();
  flight.commit_done = [&result](Result<CommittedBatch> r) { result = std::move(r); };
  Send(std::move(entry), std::move(flight));
  Flush();
  if (!result) return Status::Internal("the journal never completed the entry");
  return std::move(*result);
}

void Pipeline::Raise(std::vector<Alert> alerts) {
  for (auto& a : unsent_daemon_alerts_) alerts.push_back(std::move(a));
  unsent_daemon_alerts_.clear();
  stats_.pending_daemon_alerts = 0;
  if (alerts.empty()) return;
  JournalEntry entry;
  entry.at = clock_.Now();
  entry.alerts = alerts;
  auto committed = Commit(std::move(entry), /*engine_changed=*/false);
  if (!committed.ok()) {
    spdlog::error("store failure raising {} daemon alert(s), kept for retry: {}", alerts.size(),
                  committed.status().ToString());
    unsent_daemon_alerts_ = std::move(alerts);
    stats_.pending_daemon_alerts = static_cast<int64_t>(unsent_daemon_alerts_.size());
    return;
  }
  for (const auto& a : committed->alerts) spdlog::warn("{}: {}", AlertKindName(a.alert.kind), a.alert.summary);
}

bool Pipeline::Recover() {
  Flush();
  if (!held_.empty()) {
    const bool committed = CommitHeld();
    last_progress_ = std::chrono::steady_clock::now();  // tried: the store decides
    if (!committed) return false;
  }
  if (!matcher_.stale()) return true;
  const bool restored = matcher_.Restore().ok();
  last_progress_ = std::chrono::steady_clock::now();  // tried: the store decides
  return restored;
}

void Pipeline::Refused(const Status& why) {
  ++stats_.store_failures;
  stats_.store_healthy = false;
  last_failure_ = why.ToString();
  if (!failing_since_) failing_since_ = clock_.Now();
  sd_notify(0, "STATUS=degraded: store failure");
  NoticeStoreFailing();
}

void Pipeline::NoticeStoreFailing() {
  const TimePoint now = clock_.Now();
  if (notice_recipients_.empty() || (last_notice_ && now - *last_notice_ < kNoticeEvery)) return;
  last_notice_ = now;
  Alert a;
  a.kind = AlertKind::kStoreFailing;
  a.severity = Severity::kCritical;
  a.event_time = *failing_since_;
  a.raised_at = now;
  a.alert_id = "unstored-" + std::to_string(now.time_since_epoch().count());
  a.summary = "breachwatch cannot write its store since " + FormatRfc3339(*failing_since_) +
              " (" + last_failure_ +
              "): feeds are held and nothing is lost, but no breach is alerted until it "
              "recovers; call the on-call engineer (is the disk full?)";
  for (const auto& room : notice_recipients_) AddRecipient(&a, ControlTopic(room));
  boost::json::object payload = AlertToJson(a);
  payload["seq"] = 0;  // not in the store: alerts.since will never return it
  payload["stored"] = false;
  payload["failing_since"] = FormatRfc3339(*failing_since_);
  payload["error"] = last_failure_;
  spdlog::critical("{}", a.summary);
  publisher_.Publish({CommittedAlert{a, boost::json::serialize(payload)}});
}

void Pipeline::Committed(std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  ++stats_.commits;
  stats_.commit_seconds_sum += seconds;
  for (size_t i = 0; i < std::size(Stats::kCommitBuckets); ++i) {
    if (seconds <= Stats::kCommitBuckets[i]) ++stats_.commit_bucket_counts[i];
  }
  if (!stats_.store_healthy) {
    stats_.store_healthy = true;
    sd_notify(0, "STATUS=serving");
    spdlog::info("store healthy again");
    if (failing_since_ && !notice_recipients_.empty()) {
      // Raised (and stored) with the daemon's next alerts: Raise() sends what is pending.
      Alert a;
      a.kind = AlertKind::kStoreRecovered;
      a.severity = Severity::kInfo;
      a.event_time = clock_.Now();
      a.summary = "breachwatch writes its store again (it failed from " +
                  FormatRfc3339(*failing_since_) + "); held events are being handled";
      a.extra["failing_since"] = FormatRfc3339(*failing_since_);
      for (const auto& room : notice_recipients_) AddRecipient(&a, ControlTopic(room));
      unsent_daemon_alerts_.push_back(std::move(a));
      stats_.pending_daemon_alerts = static_cast<int64_t>(unsent_daemon_alerts_.size());
    }
    failing_since_.reset();
    last_notice_.reset();
  }
}

}  // namespace bw
