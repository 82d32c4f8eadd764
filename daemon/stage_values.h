// The values that travel between the daemon's stages (docs/architecture.md):
//
//   intake ──InboundMessage──▶ matcher ──JournalEntry──▶ journal ──CommittedBatch──▶ publisher
//
// Each is a plain value: a stage owns its state and hands the next stage a value, never a reference
// back into itself, so that any arrow can become a queue between two threads.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/store.h"
#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/engine/event_handler.h"

namespace bw {

// One message as it left its socket (a feed, a replay reply, or event.submit).
struct InboundMessage {
  std::string channel;  // the feed's name, or "control" for event.submit
  std::string topic;
  std::string payload;
  bool require_seq = true;     // feeds number their messages; event.submit does not
  std::string expected_topic;  // the feed's name; empty for event.submit
  std::string frame_error;     // set when the frame structure itself is wrong
  std::string frame_error_reason = "bad_frames";  // the dead letter's reason, e.g. "oversize"
  // event.submit: the request's audit row.  The journal writes it as the collection record in the
  // transaction of the inbound row, completing its subjects, outcome and detail.
  std::optional<AuditRecord> request_audit;
};

// What became of one inbound message.
enum class ItemResult { kHandled, kDuplicate, kRejected, kFailed };
const char* ItemResultName(ItemResult r);  // handled | duplicate | rejected | failed

struct ItemOutcome {
  ItemResult result = ItemResult::kFailed;
  std::string reason;   // rejected / failed: the reason code
  std::string message;  // rejected: the error naming the field; handled: the engine's note
  std::string source;   // empty when the message could not be decoded
  int64_t seq = 0;  // 0 when it had none or its seq was disregarded
  // An implausible seq (handlers/feeds/seq_plausibility.h): the message was judged on its content
  // but this seq was disregarded and not stored.
  int64_t disregarded_seq = 0;
  int64_t inbound_row = 0;  // the stored row (a dead letter's reference when rejected)
  std::vector<Alert> alerts;  // raised by it; seq and alert_id set once committed
};

// One inbound message as the journal must record it.
struct JournalItem {
  InboundRecord record;
  std::vector<InstrumentChange> changes;
  std::vector<Alert> alerts;  // alert_id, seq and raised_at are assigned by the journal
  std::optional<AuditRecord> request_audit;
};

// A change to the stored escalation of an alert (the tick's work).
struct EscalationUpdate {
  std::string alert_id;
  int level = 0;
  std::optional<TimePoint> next_at;  // nullopt: nothing further is due
};

// alert.ack / alert.resolve.
struct AlertUpdate {
  enum class Kind { kAck, kResolve };
  Kind kind = Kind::kAck;
  std::string alert_id;
  std::string by;
  TimePoint at;
  std::string outcome;  // resolve
  std::string note;     // resolve
};

// Everything one commit makes durable together, or not at all: the journal's unit.
struct JournalEntry {
  TimePoint at;                            // raised_at of its alerts
  std::vector<JournalItem> items;          // inbound messages, in handling order
  std::vector<Alert> alerts;               // raised without a message (feed health, escalation)
  std::vector<EscalationUpdate> escalations;
  std::vector<AlertUpdate> alert_updates;
  std::vector<AuditRecord> audits;         // audit rows of their own (control requests, security)

  bool empty() const {
    return items.empty() && alerts.empty() && escalations.empty() && alert_updates.empty() &&
           audits.empty();
  }
};

// An alert as committed: everything assigned, and its payload serialised once (stored and
// published byte for byte).
struct CommittedAlert {
  Alert alert;
  std::string payload;
};

// What a successful commit made durable, for the publisher and the callers.
struct CommittedBatch {
  std::vector<CommittedAlert> alerts;  // in seq order
  std::vector<int64_t> inbound_rows;   // one per JournalEntry::items, same order
};

}  // namespace bw
