// The wording of the daemon's own audit rows.  See audit_records.h.
#include "handlers/audit/audit_records.h"

#include <algorithm>

#include "handlers/alerts/protected_location.h"
#include "handlers/base/time_util.h"

namespace bw {

namespace {

// Adds one to the count of `key` in `counts` (kept in first-seen order: few keys).
void Count(std::vector<std::pair<std::string, int64_t>>* counts, std::string_view key) {
  for (auto& [k, n] : *counts) {
    if (k == key) {
      ++n;
      return;
    }
  }
  counts->emplace_back(std::string(key), 1);
}

std::string CountsText(const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::string out;
  for (const auto& [k, n] : counts) {
    out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n);
  }
  return out;
}

}  // namespace

void CollectionBatch::Add(const CollectedMessage& m) {
  if (m.channel == "tick" || m.audited_by_caller) return;
  const std::string_view by = m.collected_by, why = m.collected_reason;
  Collector* c = nullptr;
  for (auto& k : collectors_) {
    if (k.channel == m.channel && k.collected_by == by && k.collected_reason == why) c = &k;
  }
  if (c == nullptr) {
    c = &collectors_.emplace_back();
    c->channel = m.channel;
    c->collected_by = by;
    c->collected_reason = why;
    c->received_at = m.received_at;
    c->first_row = m.row;
  }
  c->last_row = m.row;
  (m.result == "handled" ? c->handled : c->rejected) += 1;
  if (!m.person_id.empty() &&
      std::find(c->subjects.begin(), c->subjects.end(), m.person_id) == c->subjects.end()) {
    c->subjects.emplace_back(m.person_id);
  }
  Count(&c->types, m.type.empty() ? std::string_view("inbound") : m.type);
  if (!m.reason.empty()) Count(&c->reasons, m.reason);
}

std::vector<AuditRecord> CollectionBatch::Records() const {
  std::vector<AuditRecord> out;
  out.reserve(collectors_.size());
  for (const auto& c : collectors_) {
    AuditRecord a;
    a.at = c.received_at;
    a.category = "collection";
    a.actor = c.collected_by.empty() ? "feed/" + c.channel : c.collected_by;
    a.op = "batch";
    for (const auto& s : c.subjects) a.subjects += (a.subjects.empty() ? "" : ",") + s;
    a.reason = c.collected_reason.empty() ? "monitoring feed intake" : c.collected_reason;
    a.outcome = c.rejected == 0 ? "handled" : c.handled == 0 ? "rejected" : "handled,rejected";
    const int64_t n = c.handled + c.rejected;
    a.detail = "inbound #" + std::to_string(c.first_row) + ".." + std::to_string(c.last_row) +
               " channel " + c.channel + ": " + std::to_string(n) + " message" +
               (n == 1 ? "" : "s") + ", handled " + std::to_string(c.handled) + ", rejected " +
               std::to_string(c.rejected);
    if (!c.reasons.empty()) a.detail += " (" + CountsText(c.reasons) + ")";
    a.detail += "; " + CountsText(c.types);
    out.push_back(std::move(a));
  }
  return out;
}

bool IsAuditedAlteration(const InstrumentChange& change) {
  return change.kind != InstrumentChange::Kind::kGranted;
}

AuditRecord AlterationAudit(const InstrumentChange& c, const std::string& subject,
                            const std::string& caused_by_source, const std::string& caused_by_id,
                            TimePoint recorded_at) {
  AuditRecord a;
  a.at = recorded_at;
  a.category = "alteration";
  a.actor = caused_by_source.empty() ? "breachwatchd" : caused_by_source;
  a.op = std::string("instrument.") + InstrumentChangeKindName(c.kind);
  a.subjects = subject;
  a.reason = c.kind == InstrumentChange::Kind::kVaried ? "order varied by its issuer"
                                                       : "order ended: " + c.end_reason;
  a.outcome = "ok";
  a.detail = c.instrument_id + " from " + FormatRfc3339(c.effective) + " (caused by " +
             caused_by_source + "/" + caused_by_id + ")";
  return a;
}

std::optional<AuditRecord> CombinationAudit(const Alert& alert) {
  if (alert.condition_id.empty() || alert.caused_by_id.empty()) return std::nullopt;
  AuditRecord c;
  c.at = alert.raised_at;
  c.category = "combination";
  c.actor = "breachwatchd";
  c.op = "match";
  c.subjects = alert.person_id;
  c.reason = "condition matching";
  c.outcome = AlertKindName(alert.kind);
  c.detail = "event " + alert.caused_by_source + "/" + alert.caused_by_id + " matched condition " +
             alert.condition_id + " of " + alert.instrument_id + ": alert " + alert.alert_id;
  return c;
}

AuditRecord DisclosureAudit(const Alert& alert) {
  AuditRecord d;
  d.at = alert.raised_at;
  d.category = "disclosure";
  d.actor = "breachwatchd";
  d.op = std::string("alert.") + AlertKindName(alert.kind);
  d.subjects = alert.person_id;
  d.reason = "alert delivery";
  d.outcome = "ok";
  d.detail = "alert #" + std::to_string(alert.seq) + " " + alert.alert_id;
  if (const std::string her = ProtectedPersonLocated(alert); !her.empty()) {
    // Protocol 9.3: a disclosure of the protected person's location names her.
    d.subjects += "," + her;
    d.detail += "; discloses the location of protected person " + her + " (control rooms only)";
  }
  for (size_t i = 0; i < alert.recipients.size(); ++i) {
    d.recipients += (i ? "," : "") + alert.recipients[i];
  }
  return d;
}

AuditRecord ErasureAudit(const Erasure& e) {
  AuditRecord a;
  a.at = e.at;
  a.category = "erasure";
  a.actor = "breachwatchd";
  a.op = "retention.purge";
  a.reason = "retention policy";
  a.outcome = "ok";
  a.detail = std::to_string(e.dead_letters) + " dead letter(s) received before " +
             (e.dead_letters_before ? FormatRfc3339(*e.dead_letters_before) : "-") + ", " +
             std::to_string(e.audit_rows) + " audit row(s) dated before " +
             FormatRfc3339(e.audit_before) + " (through row " + std::to_string(e.purged_through) +
             ")";
  return a;
}

}  // namespace bw
