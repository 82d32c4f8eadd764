// The wording of the daemon's own audit rows.  See audit_records.h.
#include "handlers/audit/audit_records.h"

#include "handlers/alerts/protected_location.h"
#include "handlers/base/time_util.h"

namespace bw {

std::optional<AuditRecord> CollectionAudit(const CollectedMessage& m) {
  if (m.channel == "tick" || m.audited_by_caller) return std::nullopt;
  AuditRecord a;
  a.at = m.received_at;
  a.category = "collection";
  a.actor = m.collected_by.empty() ? "feed/" + std::string(m.channel) : std::string(m.collected_by);
  a.op = m.type.empty() ? "inbound" : std::string(m.type);
  a.subjects = m.person_id;
  a.reason =
      m.collected_reason.empty() ? "monitoring feed intake" : std::string(m.collected_reason);
  a.outcome = m.result;
  a.detail = "inbound #" + std::to_string(m.row) + " " + std::string(m.source) + "/" +
             std::string(m.msg_id) + (m.reason.empty() ? "" : " (" + std::string(m.reason) + ")");
  return a;
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
