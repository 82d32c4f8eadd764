// Store: the durable record of everything breachwatch knows — every inbound
// message as received with its handling result (dead letters included), every
// instrument version, every alert with its recipients, and the audit log.
//
// `Store` is the seam: the daemon talks only to this interface, tests and fault
// injection can substitute it.  `OpenSqliteStore` returns the SQLite
// implementation (WAL, synchronous=FULL, versioned migrations).
//
// Thread-safety: not synchronised; one owner thread (the daemon's event loop).
// Writes happen inside Begin()/Commit(); a failed Commit() leaves nothing of the
// transaction behind.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "handlers/alerts/alert.h"
#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/engine/event_handler.h"
#include "handlers/audit/audit_records.h"

namespace bw {

struct InboundRecord {
  TimePoint received_at;
  std::string channel;  // feed name, or "control" for event.submit
  std::string topic;
  std::string source;  // empty when the message could not be decoded
  std::string msg_id;
  int64_t seq = 0;
  std::string type;
  std::optional<TimePoint> event_time;
  std::string payload;    // verbatim bytes
  std::string result;     // "handled" | "rejected"
  std::string reason;     // rejection class, e.g. "missing_field"
  std::string detail;     // rejection message naming the field, or the handling note
  std::string person_id;  // the person the event is about, when there is one (for history)
  // Who collected it, for the `collection` record the journal writes for each
  // committed batch (feeds: "feed/<channel>" unless set; "tick" rows are not counted).
  std::string collected_by;
  std::string collected_reason;
  // Set for event.submit: the request's own audit row is the collection record,
  // written by the daemon in the same transaction, so the batch's record does not count it.
  bool audited_by_caller = false;
};

// An alert's lifecycle as stored: acknowledgement, outcome and escalation.
struct AlertState {
  int64_t seq = 0;
  std::string alert_id;
  std::string payload;  // JSON as published
  std::string severity;
  std::string kind;
  std::string instrument_id;
  TimePoint raised_at;
  std::optional<TimePoint> acked_at;
  std::string acked_by;
  std::optional<TimePoint> resolved_at;
  std::string resolved_by;
  std::string outcome;
  std::string note;
  int escalation_level = 0;
  std::optional<TimePoint> next_escalation_at;
};

// One line of a person's history (for history.person).
struct HistoryRow {
  TimePoint time;
  std::string what;    // e.g. "instrument granted", "alert", "arrest"
  std::string detail;  // JSON object text
};

// AuditRecord, one audit-log row (Data Protection Act 2018 s.62; docs/security.md),
// is in handlers/audit/audit_records.h with the wording of the rows the store
// writes itself.  The store adds the id and the hash chain (daemon/audit_chain.h).

// What a retention purge removed (each purge writes one `erasure` audit row).
struct PurgeResult {
  int64_t dead_letters = 0;
  int64_t audit_rows = 0;
};

struct StoreCounts {
  int64_t inbound_handled = 0;
  int64_t inbound_rejected = 0;
  int64_t instruments = 0;
  int64_t alerts = 0;
  int64_t audit = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;

  // The payload of (source, msg_id) when it was already handled, else nullopt.
  virtual Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                            const std::string& msg_id) = 0;
  // Returns the row id (the dead-letter reference for a rejected message).
  virtual Result<int64_t> InsertInbound(const InboundRecord& record) = 0;
  // The highest seq stored per (channel, source), for gap detection after a restart.
  virtual Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() = 0;
  // The instrument object of version `version` of `instrument_id` as received (the JSON text
  // stored with that version, InstrumentChange::instrument_raw), or nullopt when there is no
  // such version or it records an ending.  Versions are numbered from 1 per instrument in the
  // order they were stored (Instrument::version).  The engine keeps no instrument's JSON: the
  // daemon reads it here for `conditions.person` and a check's `check_result`.
  virtual Result<std::optional<std::string>> InstrumentRaw(const std::string& instrument_id,
                                                           int64_t version) = 0;
  virtual Status InsertInstrumentChange(const InstrumentChange& change,
                                        const std::string& caused_by_source,
                                        const std::string& caused_by_id, TimePoint recorded_at) = 0;
  // Stores an alert whose alert_id, seq and raised_at are already set, with its
  // first escalation deadline (nullopt: needs no acknowledgement).
  virtual Status InsertAlert(const Alert& alert, std::optional<TimePoint> escalate_at) = 0;
  virtual Result<std::optional<AlertState>> GetAlert(const std::string& alert_id) = 0;
  virtual Status AckAlert(const std::string& alert_id, const std::string& by, TimePoint at) = 0;
  virtual Status ResolveAlert(const std::string& alert_id, const std::string& by, TimePoint at,
                              const std::string& outcome, const std::string& note) = 0;
  virtual Status SetEscalation(const std::string& alert_id, int level,
                               std::optional<TimePoint> next_at) = 0;
  // Unacknowledged, unresolved alerts whose escalation deadline is <= `now`.
  virtual Result<std::vector<AlertState>> DueEscalations(TimePoint now) = 0;
  // The earliest pending escalation deadline, if any.
  virtual Result<std::optional<TimePoint>> NextEscalationDeadline() = 0;
  // Alerts needing an outcome (severity above info) without one, oldest first
  // (by seq): those with seq > `after_seq`, raised at or before `raised_by`
  // (nullopt: any time), sent to `recipient` (a topic; empty: any), at most `limit`.
  virtual Result<std::vector<AlertState>> OpenAlerts(const std::string& recipient,
                                                     int64_t after_seq,
                                                     std::optional<TimePoint> raised_by,
                                                     int limit) = 0;
  // Everything recorded about a person: instrument versions, alerts (with their
  // outcomes) and custody events, oldest first.
  virtual Result<std::vector<HistoryRow>> PersonHistory(const std::string& person_id) = 0;
  // Appends one row to the hash-chained audit log.  The store itself also
  // writes the rows of the work it records, in the same transaction:
  // InsertInstrumentChange (varied, ended) an
  // `alteration` row, InsertAlert a `disclosure` row (with recipients) and, for
  // an alert raised by matching an event against a condition, a `combination` row.
  // InsertInbound writes none: the journal appends one `collection` record per
  // committed batch (handlers/audit/audit_records.h, CollectionBatch).
  virtual Status InsertAudit(const AuditRecord& record) = 0;
  // Retention (one `erasure` audit row per call that removes anything):
  // dead letters received before `dead_letters_before` (nullopt: keep all) and
  // audit rows dated before `audit_before`, which must be at least 365 days
  // before `now` (the triggers refuse younger ones whatever the caller asks).
  virtual Result<PurgeResult> Purge(TimePoint now, std::optional<TimePoint> dead_letters_before,
                                    TimePoint audit_before) = 0;

  // Calls `fn(row, channel, payload)` for every handled inbound message stored
  // after inbound row `after_row` (0: all), in the order they were handled (to
  // rebuild the engine's state by replay, or to follow the journal from a
  // position: a snapshot's, a standby's).  Rows are numbered in handling order.
  using HandledRowFn = std::function<void(int64_t row, const std::string& channel,
                                          const std::string& payload)>;
  virtual Status ForEachHandled(int64_t after_row, const HandledRowFn& fn) = 0;
  // Calls `fn(source, msg_id)` for every handled inbound message, in no particular order (the
  // matcher's deduplication memory, daemon/recent_ids.h).  A store that cannot list them cheaply
  // keeps this default, and the matcher then reads HandledPayload for every message.
  using HandledKeyFn = std::function<void(const std::string& source, const std::string& msg_id)>;
  virtual Status ForEachHandledKey(const HandledKeyFn& /*fn*/) {
    return Status::Unavailable("this store does not list handled ids");
  }
  // The handled inbound rows stored after row `after_row`: how many, and when the oldest of them
  // was received (a warm standby's replication lag, daemon/standby.h).  A store that cannot
  // tell keeps this default.
  struct HandledTail {
    int64_t rows = 0;
    std::optional<TimePoint> oldest_received_at;  // nullopt when rows == 0
  };
  virtual Result<HandledTail> HandledAfter(int64_t /*after_row*/) {
    return Status::Unavailable("this store does not count rows after a position");
  }
  // Calls `fn(payload, outcome)` for every resolved alert, in seq order (the
  // outcomes the engine's history shows, protocol 9.1, restored after a replay).
  virtual Status ForEachResolvedAlert(
      const std::function<void(const std::string& payload, const std::string& outcome)>& fn) = 0;
  virtual Result<int64_t> MaxAlertSeq() = 0;
  // Alert payloads (JSON text) with seq > `after`, oldest first, at most `limit`.
  virtual Result<std::vector<std::string>> AlertsSince(int64_t after, int limit) = 0;
  virtual Result<StoreCounts> Counts() = 0;
  // How many alerts of the given kinds name `person_id`.
  virtual Result<int64_t> CountAlerts(const std::string& person_id,
                                      const std::vector<std::string>& kinds) = 0;
};

// Opens (creating if missing) the SQLite store at `path` and migrates its
// schema to the current version.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace bw
