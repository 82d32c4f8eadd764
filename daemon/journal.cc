#include "daemon/journal.h"

#include <cstring>

#include <boost/json.hpp>

#include "handlers/alerts/escalation.h"
#include "handlers/audit/audit_records.h"
#include "handlers/instruments/instrument_bodies.h"

namespace bw {

std::string MakeUlid(TimePoint now, std::mt19937_64& rng) {
  static const char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t ms = static_cast<uint64_t>(now.time_since_epoch().count());
  uint64_t r1 = rng(), r2 = rng();
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  for (int i = 0; i < 16; ++i) {  // 80 random bits: 16 characters of 5 bits
    uint64_t& src = i < 8 ? r1 : r2;
    out[10 + i] = kAlphabet[src & 31];
    src >>= 5;
  }
  return out;
}

StoreJournal::StoreJournal(Store& store, const Policy& policy)
    : store_(store), policy_(policy), rng_(std::random_device{}()) {}

Result<CommittedBatch> StoreJournal::Commit(JournalEntry* entry) {
  GroupCommit group = CommitGroup({entry});
  if (group.committed.empty()) return group.status;
  return std::move(group.committed.front());
}

GroupCommit StoreJournal::CommitGroup(const std::vector<JournalEntry*>& entries) {
  const int64_t seq_before = next_alert_seq_;
  GroupCommit out;
  std::vector<CommittedBatch> committed(entries.size());
  Status s = store_.Begin();
  for (size_t i = 0; s.ok() && i < entries.size(); ++i) s = Write(entries[i], &committed[i]);
  if (s.ok()) s = store_.Commit();
  if (!s.ok()) {
    store_.Rollback();
    next_alert_seq_ = seq_before;
    out.status = s;
    return out;
  }
  committed_alert_seq_.store(next_alert_seq_ - 1);
  for (size_t e = entries.size(); e-- > 0;) {
    const JournalEntry& entry = *entries[e];
    bool found = false;
    for (size_t i = entry.items.size(); i-- > 0;) {
      const InboundRecord& rec = entry.items[i].record;
      if (rec.result != "handled" || i >= committed[e].inbound_rows.size()) continue;
      std::lock_guard lock(position_mu_);
      last_handled_ =
          JournalPosition{committed[e].inbound_rows[i], JournalRowDigest(rec.channel, rec.payload)};
      found = true;
      break;
    }
    if (found) break;
  }
  out.committed = std::move(committed);
  return out;
}

uint64_t Digest64(std::string_view bytes, uint64_t seed) {
  // FNV-1a over 8-byte words, then the tail bytes, with a final mix.
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * kPrime;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * kPrime;
  h ^= bytes.size();
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

uint64_t JournalRowDigest(std::string_view channel, std::string_view payload) {
  return Digest64(payload, Digest64(channel));
}

Status StoreJournal::Write(JournalEntry* entry, CommittedBatch* out) {
  // Alerts raised without a message first (escalations are due before the tick's own rules run).
  for (auto& a : entry->alerts) {
    if (Status s = WriteAlert(&a, entry->at, out); !s.ok()) return s;
  }
  for (const auto& e : entry->escalations) {
    if (Status s = store_.SetEscalation(e.alert_id, e.level, e.next_at); !s.ok()) return s;
  }
  // One `collection` record per collector for the whole batch, written after its inbound rows
  // (docs/security.md, "Audit log").
  CollectionBatch collected;
  for (auto& item : entry->items) {
    auto row = store_.InsertInbound(item.record);
    if (!row.ok()) return row.status();
    out->inbound_rows.push_back(*row);
    const InboundRecord& r = item.record;
    collected.Add({.row = *row,
                   .received_at = r.received_at,
                   .channel = r.channel,
                   .type = r.type,
                   .source = r.source,
                   .msg_id = r.msg_id,
                   .person_id = r.person_id,
                   .result = r.result,
                   .reason = r.reason,
                   .collected_by = r.collected_by,
                   .collected_reason = r.collected_reason,
                   .audited_by_caller = r.audited_by_caller});
    if (item.request_audit) {
      // event.submit: the request's own row is the collection record of the message.
      const InboundRecord& rec = item.record;
      AuditRecord a = *item.request_audit;
      a.subjects = rec.person_id;
      a.outcome = rec.result == "handled" ? "ok" : "bad_request";
      a.detail = "inbound #" + std::to_string(*row) + " " + rec.source + "/" + rec.msg_id + " " +
                 rec.type + " " + rec.result + (rec.reason.empty() ? "" : " (" + rec.reason + ")");
      if (Status s = store_.InsertAudit(a); !s.ok()) return s;
    }
    for (const auto& c : item.changes) {
      Status s = store_.InsertInstrumentChange(c, item.record.source, item.record.msg_id,
                                               item.record.received_at);
      if (!s.ok()) return s;
    }
    for (auto& a : item.alerts) {
      if (Status s = WriteAlert(&a, entry->at, out); !s.ok()) return s;
    }
  }
  for (const auto& a : collected.Records()) {
    if (Status s = store_.InsertAudit(a); !s.ok()) return s;
  }
  for (const auto& u : entry->alert_updates) {
    Status s = u.kind == AlertUpdate::Kind::kAck
                   ? store_.AckAlert(u.alert_id, u.by, u.at)
                   : store_.ResolveAlert(u.alert_id, u.by, u.at, u.outcome, u.note);
    if (!s.ok()) return s;
  }
  for (const auto& a : entry->audits) {
    if (Status s = store_.InsertAudit(a); !s.ok()) return s;
  }
  return Status::Ok();
}

Status StoreJournal::WriteAlert(Alert* a, TimePoint at, CommittedBatch* out) {
  // The instruments' JSON it carries (check_result, custody_release), read back from the store in
  // this transaction: an instrument granted earlier in this batch is already written.
  Status filled = FillInstrumentBodies(
      [this](const std::string& id, uint32_t version) { return store_.InstrumentRaw(id, version); },
      a);
  if (!filled.ok()) return filled;
  a->seq = next_alert_seq_++;
  a->alert_id = MakeUlid(at, rng_);
  a->raised_at = at;
  std::optional<TimePoint> escalate_at;
  if (a->kind != AlertKind::kUnacknowledged) {  // an unacknowledged alert is itself the escalation
    if (auto step = NextEscalation(*a, "", 0, at, policy_)) escalate_at = step->due;
  }
  if (Status s = store_.InsertAlert(*a, escalate_at); !s.ok()) return s;
  out->alerts.push_back({*a, boost::json::serialize(AlertToJson(*a))});
  return Status::Ok();
}

Result<std::optional<std::string>> StoreJournal::HandledPayload(const std::string& source,
                                                                const std::string& msg_id) {
  return store_.HandledPayload(source, msg_id);
}

Status StoreJournal::ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) {
  return store_.ForEachHandled(after_row, fn);
}

Status StoreJournal::ForEachResolvedAlert(
    const std::function<void(const std::string&, const std::string&)>& fn) {
  return store_.ForEachResolvedAlert(fn);
}

Status StoreJournal::LoadSeq() {
  auto max_seq = store_.MaxAlertSeq();
  if (!max_seq.ok()) return max_seq.status();
  next_alert_seq_ = *max_seq + 1;
  committed_alert_seq_.store(*max_seq);
  return Status::Ok();
}

}  // namespace bw
