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
#include <utility>
#include <vector>

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

// One stored inbound message, as the `collection` record of its batch counts
// it (the fields of the store's InboundRecord it uses; views valid for the call).
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

// The `collection` records of one committed batch (docs/security.md, "Audit
// log"): one row per collector (feed channel, who collected it and why) naming
// the range of inbound rows it collected, the persons they are about and the
// counts by result and by type, where there was once a row per message.  An
// auditor asking "who collected what about this person, when" finds the row by
// its subjects, and the messages themselves by joining the inbound rows of the
// range on their channel.  The daemon's own "tick" rows and messages whose
// caller writes its own row (event.submit) are not counted.
//
// Fed in row order by the journal as it stores a batch; Records() is written in
// the same transaction, after the batch's inbound rows.
class CollectionBatch {
 public:
  void Add(const CollectedMessage& message);
  // One record per collector, in the order each was first added; empty when
  // nothing was added.
  [[nodiscard]] std::vector<AuditRecord> Records() const;

 private:
  struct Collector {
    std::string channel, collected_by, collected_reason;
    TimePoint received_at;  // of its first message
    int64_t first_row = 0, last_row = 0;
    int64_t handled = 0, rejected = 0;
    std::vector<std::string> subjects;                  // distinct, in first-seen order
    std::vector<std::pair<std::string, int64_t>> types;  // type (or "inbound") -> count
    std::vector<std::pair<std::string, int64_t>> reasons;  // rejection class -> count
  };
  std::vector<Collector> collectors_;
};

// True for the instrument changes that write an `alteration` row (varied,
// ended); a grant is recorded by the collection record of its order's batch.
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
