#include "daemon/matcher.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>

#include "daemon/snapshot.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

// Whether two payloads under one (source, id) are the same message resent: equal as JSON (key
// order and spacing may differ between a live message and its replay), else byte for byte.
bool SameContent(const std::string& a, const std::string& b) {
  if (a == b) return true;
  boost::json::error_code ec_a, ec_b;
  const boost::json::value va = boost::json::parse(a, ec_a);
  const boost::json::value vb = boost::json::parse(b, ec_b);
  return !ec_a && !ec_b && va == vb;
}

}  // namespace

const char* ItemResultName(ItemResult r) {
  switch (r) {
    case ItemResult::kHandled:
      return "handled";
    case ItemResult::kDuplicate:
      return "duplicate";
    case ItemResult::kRejected:
      return "rejected";
    case ItemResult::kFailed:
      return "failed";
  }
  return "failed";
}

Matcher::Matcher(Engine& engine, Journal& journal, const Clock& clock, int64_t max_message_bytes,
                 size_t dedup_window)
    : engine_(engine),
      journal_(journal),
      clock_(clock),
      max_message_bytes_(max_message_bytes),
      recent_(dedup_window) {}

Result<JournalEntry> Matcher::Match(const std::vector<InboundMessage>& batch,
                                    std::vector<ItemOutcome>* outcomes) {
  JournalEntry entry;
  entry.at = clock_.Now();
  outcomes->assign(batch.size(), ItemOutcome{});
  if (remembers_uncommitted_) {
    uncommitted_batches_.emplace_back();
  } else {
    handled_in_batch_.clear();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    JournalItem item;
    Status s = MatchOne(batch[i], entry.at, &item, &(*outcomes)[i]);
    if (!s.ok()) return s;
    if ((*outcomes)[i].result != ItemResult::kDuplicate) entry.items.push_back(std::move(item));
  }
  return entry;
}

void Matcher::Reject(const InboundMessage& in, const std::string& source, const Status& why,
                     JournalItem* item, ItemOutcome* out) {
  InboundRecord& rec = item->record;
  rec.result = "rejected";
  rec.reason = why.reason().empty() ? "invalid" : why.reason();
  rec.detail = why.ToString();
  out->result = ItemResult::kRejected;
  out->reason = rec.reason;
  out->message = rec.detail;
  LogRejection(in, source, why);
}

Status Matcher::MatchOne(const InboundMessage& in, TimePoint now, JournalItem* item,
                         ItemOutcome* out) {
  InboundRecord& rec = item->record;
  rec.received_at = now;
  rec.channel = in.channel;
  rec.topic = in.topic;
  rec.payload = in.payload;
  item->request_audit = in.request_audit;
  rec.audited_by_caller = in.request_audit.has_value();

  if (!in.frame_error.empty()) {
    Reject(in, "", Status::BadInput("", in.frame_error, in.frame_error_reason), item, out);
    return Status::Ok();
  }
  if (!in.expected_topic.empty() && in.topic != in.expected_topic) {
    Reject(in, "",
           Status::BadInput("topic",
                            "topic \"" + in.topic + "\" is not this feed's topic \"" +
                                in.expected_topic + "\"",
                            "topic_mismatch"),
           item, out);
    return Status::Ok();
  }
  DecodeOptions opts;
  opts.max_message_bytes = static_cast<size_t>(max_message_bytes_);
  opts.require_seq = in.require_seq;
  opts.now = now;
  opts.future_skew_s = engine_.policy().future_skew_s;
  opts.earliest_time = std::chrono::time_point_cast<Millis>(std::chrono::sys_days(
      std::chrono::year(static_cast<int>(engine_.policy().earliest_event_year)) /
      std::chrono::January / 1));
  auto event = DecodeEvent(in.payload, opts);
  if (!event.ok()) {
    Reject(in, "", event.status(), item, out);
    return Status::Ok();
  }
  const Event& e = *event;
  rec.source = e.source;
  rec.msg_id = e.id;
  rec.seq = e.seq;
  out->seq = e.seq;
  if (in.require_seq) {
    const Policy& policy = engine_.policy();
    seqs_.set_options({policy.max_seq_jump, policy.seq_resync_after});
    const auto judged = seqs_.Judge(in.channel, e.source, e.seq);
    if (judged.verdict == SeqPlausibility::Verdict::kImplausible) {
      // Judged on its content all the same (it may be a real breach); the seq is not stored, so
      // it cannot become the source's position, now or after a restart.
      rec.seq = 0;
      out->seq = 0;
      out->disregarded_seq = e.seq;
      rec.detail = "seq " + std::to_string(e.seq) + " disregarded: more than policy.max_seq_jump " +
                   std::to_string(policy.max_seq_jump) + " past the source's last seq " +
                   std::to_string(judged.last);
    }
  }
  rec.type = EventTypeName(e.type);
  rec.person_id = !e.person_id.empty() ? e.person_id
                  : e.instrument       ? e.instrument->subject
                                       : std::string();
  rec.event_time = e.time;
  out->source = e.source;
  if (!in.expected_topic.empty() && e.type != EventType::kHeartbeat &&
      in.expected_topic != FeedOfEventType(e.type)) {
    Reject(in, e.source,
           Status::BadInput("type",
                            std::string("\"") + EventTypeName(e.type) +
                                "\" events do not belong on feed \"" + in.expected_topic + "\"",
                            "wrong_feed"),
           item, out);
    return Status::Ok();
  }
  auto key = std::make_pair(e.source, e.id);
  std::optional<std::string> handled_before;
  if (auto in_batch = handled_in_batch_.find(key); in_batch != handled_in_batch_.end()) {
    handled_before = in_batch->second;
  } else {
    switch (recent_.Check(e.source, e.id, in.payload)) {
      case RecentIds::Verdict::kNew:
        break;
      case RecentIds::Verdict::kResend:
        out->result = ItemResult::kDuplicate;
        return Status::Ok();
      case RecentIds::Verdict::kAskJournal: {
        ++dedup_journal_reads_;
        auto stored = journal_.HandledPayload(e.source, e.id);
        if (!stored.ok()) return stored.status();
        handled_before = std::move(*stored);
        break;
      }
    }
  }
  if (handled_before) {
    if (SameContent(*handled_before, in.payload)) {
      out->result = ItemResult::kDuplicate;
      return Status::Ok();
    }
    // Not a resend: a different message under an id already used (a fix inside an exclusion zone
    // was once counted as a duplicate this way).  Kept as a conflict and raised, never dropped.
    Reject(in, e.source,
           Status::BadInput("id",
                            "source \"" + e.source + "\" already sent a different message with id \"" +
                                e.id + "\"; this one is kept in the dead-letter store as a conflict",
                            "conflict"),
           item, out);
    return Status::Ok();
  }
  auto outcome = engine_.Decide(e);
  if (!outcome.ok()) {
    if (outcome.status().code() == ErrorCode::kBadInput) {
      Reject(in, e.source, outcome.status(), item, out);
      return Status::Ok();
    }
    // A failing handler must not stop the others: keep the event as a dead letter.
    spdlog::error("handler failed on {}/{}: {}", e.source, e.id, outcome.status().ToString());
    Reject(in, e.source, Status::BadInput("", outcome.status().message(), "handler_failed"),
           item, out);
    return Status::Ok();
  }
  rec.result = "handled";
  rec.detail = rec.detail.empty() ? outcome->note
               : outcome->note.empty() ? rec.detail
                                       : outcome->note + "; " + rec.detail;
  item->changes = outcome->changes;
  item->alerts = outcome->alerts;
  engine_.Apply(*outcome);  // at once: the next message of the batch sees it (see the header)
  recent_.Add(e.source, e.id, in.payload);
  if (remembers_uncommitted_ && !uncommitted_batches_.empty()) {
    uncommitted_batches_.back().push_back(key);
  }
  handled_in_batch_.emplace(std::move(key), in.payload);
  out->result = ItemResult::kHandled;
  out->message = outcome->note;
  return Status::Ok();
}

void Matcher::BatchDurable() {
  if (uncommitted_batches_.empty()) return;
  for (const auto& key : uncommitted_batches_.front()) handled_in_batch_.erase(key);
  uncommitted_batches_.pop_front();
}

Status Matcher::MatchTick(TimePoint now, JournalEntry* entry) {
  auto tick = engine_.Tick(now);
  if (!tick.ok()) {
    spdlog::error("tick rules failed: {}", tick.status().ToString());
    return Status::Ok();  // the rules run again at the next tick
  }
  if (tick->alerts.empty() && tick->mutations.empty()) return Status::Ok();
  JournalItem item;
  InboundRecord& rec = item.record;
  rec.received_at = now;
  rec.channel = kTickChannel;
  rec.topic = kTickChannel;
  rec.source = "breachwatchd";
  rec.msg_id = "tick-" + std::to_string(now.time_since_epoch().count());
  rec.type = "tick";
  rec.event_time = now;
  rec.payload = FormatRfc3339(now);
  rec.result = "handled";
  rec.detail = tick->note.empty() ? "time-driven rules" : tick->note;
  item.alerts = tick->alerts;
  engine_.Apply(*tick);
  entry->items.push_back(std::move(item));
  return Status::Ok();
}

bool Matcher::ReplayRow(const std::string& channel, const std::string& payload) {
  if (channel == kTickChannel) {
    // A recorded run of the time-driven rules: run it again at the same time.
    auto t = ParseRfc3339(payload);
    if (!t) return true;
    auto outcome = engine_.Tick(*t);
    if (outcome.ok()) engine_.Apply(*outcome);
    return true;
  }
  DecodeOptions opts;
  opts.max_message_bytes = SIZE_MAX;
  opts.require_seq = false;
  opts.now = TimePoint::max() - std::chrono::hours(24 * 365);
  opts.future_skew_s = 0;
  auto event = DecodeEvent(payload, opts);
  if (!event.ok()) {
    spdlog::error("replay: stored event no longer decodes: {}", event.status().ToString());
    return false;
  }
  auto outcome = engine_.Decide(*event);
  if (!outcome.ok()) {
    recent_.AddKey(event->source, event->id);  // handled all the same: a resend is a duplicate
    spdlog::error("replay: event {}/{} no longer applies: {}", event->source, event->id,
                  outcome.status().ToString());
    return false;
  }
  engine_.Apply(*outcome);
  recent_.Add(event->source, event->id, payload);  // the window ends with the newest
  return true;
}

Status Matcher::LoadSeqPositions() {
  auto last_seqs = journal_.LastSeqs();
  if (!last_seqs.ok()) return last_seqs.status();
  seqs_.Clear();
  for (const auto& [channel, source, seq] : *last_seqs) seqs_.SetLast(channel, source, seq);
  return Status::Ok();
}

Status Matcher::RecordResolvedOutcomes() {
  return journal_.ForEachResolvedAlert([&](const std::string& payload, const std::string& outcome) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(payload, ec);
    if (ec || !v.is_object()) return;
    if (auto alert = AlertFromJson(v.get_object()); alert.ok()) {
      engine_.RecordAlertOutcome(*alert, outcome);
    }
  });
}

Status Matcher::Restore() {
  // The engine's state is a function of the handled messages in handling order: replay them.
  // Alerts they raised are already journaled and are not raised again.
  stale_ = true;
  engine_.Reset();
  recent_.Clear();
  replayed_through_ = {};
  handled_in_batch_.clear();
  uncommitted_batches_.clear();
  if (Status s = LoadSeqPositions(); !s.ok()) return s;
  int64_t replayed = 0, failed = 0;
  // From a snapshot when there is one: its state, then the rows after its position, the first
  // row read being the one at its position (which must be the same row, else the snapshot is of
  // another history and the whole journal is replayed).
  std::optional<SnapshotFile> snapshot = snapshots_ ? snapshots_->Load(&engine_) : std::nullopt;
  bool at_snapshot_row = snapshot.has_value(), snapshot_matches = false;
  JournalPosition last;
  auto replay = [&](int64_t row, const std::string& channel, const std::string& payload) {
    if (at_snapshot_row) {
      at_snapshot_row = false;
      snapshot_matches =
          row == snapshot->position && JournalRowDigest(channel, payload) == snapshot->row_digest;
      return;
    }
    if (snapshot && !snapshot_matches) return;
    last.row = row;
    last.digest = JournalRowDigest(channel, payload);
    if (!ReplayRow(channel, payload)) {
      ++failed;
    } else if (channel != kTickChannel) {
      ++replayed;
    }
  };
  Status s = journal_.ForEachHandled(snapshot ? snapshot->position - 1 : 0, replay);
  if (s.ok() && snapshot && !snapshot_matches) {
    spdlog::warn(
        "snapshot {} does not match the store (its journal row {} is {}): replaying "
        "the whole journal",
        snapshots_->path(), snapshot->position, at_snapshot_row ? "missing" : "another message");
    snapshot.reset();
    at_snapshot_row = false;  // when its row was missing, no row has been read yet
    engine_.Reset();
    recent_.Clear();
    last = {};
    s = journal_.ForEachHandled(0, replay);
  }
  if (s.ok()) {
    if (last.row == 0 && snapshot) last = {snapshot->position, snapshot->row_digest};
    replayed_through_ = last;
    if (snapshots_) {
      snapshots_->NotePosition(last.row, last.digest, /*replayed_rows=*/replayed + failed > 0);
    }
  }
  if (s.ok()) {
    // Every handled id, those replayed or not (a decode that fails, or rows a replay skips).
    Status keys = journal_.ForEachHandledKey(
        [&](const std::string& source, const std::string& id) { recent_.AddKey(source, id); });
    recent_.set_complete(keys.ok());
    if (!keys.ok() && keys.code() != ErrorCode::kUnavailable) {
      spdlog::warn("deduplication reads the store for every message: {}", keys.ToString());
    }
  }
  if (s.ok()) s = RecordResolvedOutcomes();
  if (!s.ok()) {
    spdlog::error("cannot rebuild state from the store: {}", s.ToString());
    return s;
  }
  if (replayed > 0 || failed > 0) {
    spdlog::info("state rebuilt from {}{} stored event(s){}", snapshot ? "a snapshot and " : "",
                 replayed,
                 failed ? fmt::format(", {} could not be replayed", failed) : std::string());
  }
  stale_ = false;
  return Status::Ok();
}

Result<int64_t> Matcher::Follow() {
  int64_t applied = 0;
  Status s = journal_.ForEachHandled(
      replayed_through_.row, [&](int64_t row, const std::string& channel,
                                 const std::string& payload) {
        replayed_through_ = {row, JournalRowDigest(channel, payload)};
        // A row that no longer decodes has an id this memory cannot learn: from now on "new"
        // is checked against the journal (RecentIds::kAskJournal), as Restore's key list would
        // have covered it.
        if (!ReplayRow(channel, payload) && channel != kTickChannel) recent_.set_complete(false);
        ++applied;
      });
  if (!s.ok()) return s;
  return applied;
}

Status Matcher::FinishFollowing() {
  if (Status s = LoadSeqPositions(); !s.ok()) return s;
  if (Status s = RecordResolvedOutcomes(); !s.ok()) return s;
  if (snapshots_) {
    snapshots_->NotePosition(replayed_through_.row, replayed_through_.digest,
                             /*replayed_rows=*/true);
  }
  return Status::Ok();
}

void Matcher::AlertResolved(const Alert& alert, const std::string& outcome) {
  engine_.RecordAlertOutcome(alert, outcome);
}

void Matcher::LogRejection(const InboundMessage& in, const std::string& source,
                           const Status& why) {
  const std::string key = source.empty() ? "channel:" + in.channel : source;
  const TimePoint now = clock_.Now();
  auto it = last_reject_log_.find(key);
  if (it != last_reject_log_.end() && now - it->second < std::chrono::minutes(1)) {
    ++suppressed_rejects_[key];
    return;
  }
  int64_t suppressed = suppressed_rejects_[key];
  suppressed_rejects_[key] = 0;
  last_reject_log_[key] = now;
  spdlog::warn("rejected message on {} from {}: {} [{}]{}", in.channel,
               source.empty() ? "unknown source" : source, why.ToString(), why.reason(),
               suppressed ? fmt::format(" ({} more rejected since the last report)", suppressed)
                          : std::string());
}

}  // namespace bw
