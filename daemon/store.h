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
#include <vector>

#include "handlers/alert.h"
#include "handlers/clock.h"
#include "handlers/event_handler.h"
#include "handlers/status.h"

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
  std::string payload;  // verbatim bytes
  std::string result;   // "handled" | "rejected"
  std::string reason;   // rejection class, e.g. "missing_field"
  std::string detail;   // rejection message naming the field, or the handling note
};

struct AuditRecord {
  TimePoint at;
  std::string actor;  // officer_id / identity
  std::string op;
  std::string subjects;  // e.g. person ids, comma-separated
  std::string reason;    // why the data was needed
  std::string outcome;   // "ok" or the error code
  std::string detail;
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

  // True when (source, msg_id) was already handled.
  virtual Result<bool> HasHandled(const std::string& source, const std::string& msg_id) = 0;
  virtual Status InsertInbound(const InboundRecord& record) = 0;
  virtual Status InsertInstrumentChange(const InstrumentChange& change,
                                        const std::string& caused_by_source,
                                        const std::string& caused_by_id, TimePoint recorded_at) = 0;
  // Stores an alert whose alert_id, seq and raised_at are already set.
  virtual Status InsertAlert(const Alert& alert) = 0;
  virtual Status InsertAudit(const AuditRecord& record) = 0;

  // Calls `fn(channel, payload)` for every handled inbound message, in the order
  // they were handled (to rebuild the engine's state by replay).
  virtual Status ForEachHandled(
      const std::function<void(const std::string& channel, const std::string& payload)>& fn) = 0;
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
