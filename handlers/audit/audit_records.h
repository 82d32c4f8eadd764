// Audit records: the wording of the audit-log rows that record the daemon's own
// work (Data Protection Act 2018 s.62; docs/security.md) — what each row says
// about a collected message, an altered order, a disclosed alert, a combination
// of data (an event matched against a condition) and a retention erasure.
//
// The store writes these rows, in the transaction of the work they record, and
// chains them (daemon/audit_chain.h); what they say is decided here, by pure
// functions of the work's values, so that it can be read and tested on its own.
//
// Thread-safety: plain values and pure functions; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/engine/event_handler.h"

namespace bw {

// One audit-log row as written (the store adds the id and the hash chain).
struct AuditRecord {
  TimePoint at;
  // collection | alteration | consultation | disclosure | combination | erasure
  // (the s.62 operations), or access (a refused connection or request).
  std::string category = "consultation";
  std::string actor;  // the authenticated identity (ZAP User-Id), else officer_id / system
  std::string op;
  std::string subjects;  // e.g. person ids, comma-separated
  std::string reason;    // why the data was needed
  std::string outcome;   // "ok" or the error code
  std::string detail;
  std::string recipients;  // disclosure: who received it, comma-separated
};

// What the `collection` row says about one stored inbound message (the fields
// of the store's InboundRecord it uses; views valid for the call).
struct CollectedMessage {
  int64_t row = 0;  // the inbound row id (a rejected message's dead-letter reference)
  TimePoint received_at;
  std::string_view channel;  // feed name, "control" or "tick"
  std::string_view type;     // event type; empty when undecodable
  std::string_view source;
  std::string_view msg_id;
  std::string_view person_id;
  std::string_view result;            // "handled" | "rejected"
  std::string_view reason;            // rejection class; empty when handled
  std::string_view collected_by;      // empty: "feed/<channel>"
  std::string_view collected_reason;  // empty: "monitoring feed intake"
  // event.submit: the request's own audit row is the collection record.
  bool audited_by_caller = false;
};

// The `collection` row for a stored inbound message; none for the daemon's own
// "tick" rows or a message whose caller writes its own row.
[[nodiscard]] std::optional<AuditRecord> CollectionAudit(const CollectedMessage& message);

// True for the instrument changes that write an `alteration` row (varied,
// ended); a grant is recorded by its order's collection row.
[[nodiscard]] bool IsAuditedAlteration(const InstrumentChange& change);

// The `alteration` row for a varied or ended order.  `subject` is the person
// the order is about (an `ended` change carries no instrument: the caller looks
// it up); `caused_by_*` name the event that changed it, `recorded_at` when.
[[nodiscard]] AuditRecord AlterationAudit(const InstrumentChange& change,
                                          const std::string& subject,
                                          const std::string& caused_by_source,
                                          const std::string& caused_by_id, TimePoint recorded_at);

// The `combination` row for an alert raised by matching an event against a
// condition; none for other alerts (no condition or no causing event).
[[nodiscard]] std::optional<AuditRecord> CombinationAudit(const Alert& alert);

// The `disclosure` row for an alert (its seq, id and raised_at already set):
// who receives it.  An alert carrying a protected person's location
// (handlers/alerts/protected_location.h) names her among the subjects and says so.
[[nodiscard]] AuditRecord DisclosureAudit(const Alert& alert);

// What one retention purge removed, for its `erasure` row.
struct Erasure {
  TimePoint at;  // when the purge ran
  int64_t dead_letters = 0;
  std::optional<TimePoint> dead_letters_before;  // nullopt: dead letters kept
  int64_t audit_rows = 0;
  TimePoint audit_before;
  int64_t purged_through = 0;  // the newest audit row id removed (0: none)
};

// The `erasure` row for a purge that removed anything.
[[nodiscard]] AuditRecord ErasureAudit(const Erasure& erasure);

}  // namespace bw
