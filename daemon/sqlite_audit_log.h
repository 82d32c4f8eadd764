// The SQLite store's writer of the hash-chained audit log (daemon/audit_chain.h):
// numbers each new row, links it to the newest row before it and keeps that
// head across transactions — a rolled-back transaction's rows leave the chain
// as it was, so the next row continues from the last committed one.
// Internal to the SQLite store (daemon/sqlite_store*.cc, daemon/sqlite_schema.cc).
//
// Thread-safety: as the store (one owner thread).
#pragma once

#include <cstdint>
#include <string>

#include "daemon/audit_chain.h"
#include "daemon/sqlite_db.h"
#include "daemon/store.h"

namespace bw {

// Inserts one fully formed row (id, hashes set) into audit_log.
[[nodiscard]] Status WriteAuditRow(SqliteDb& db, const AuditRow& row);

class SqliteAuditLog {
 public:
  explicit SqliteAuditLog(SqliteDb& db) : db_(db) {}

  // Reads the newest row (or the purge anchor when every row was purged);
  // once after the schema is current.
  [[nodiscard]] Status LoadHead();

  // The store's transaction boundaries: the chain continues from the pending
  // head inside a transaction and falls back to the committed one on rollback.
  void TransactionBegun() { pending_ = committed_; }
  void TransactionCommitted() { committed_ = pending_; }
  void TransactionRolledBack() { pending_ = committed_; }

  // Appends `record` as the next row of the chain.
  [[nodiscard]] Status Append(const AuditRecord& record);

 private:
  struct Head {
    int64_t last_id = 0;
    std::string last_hash = kAuditGenesisHash;
  };

  SqliteDb& db_;
  Head committed_;
  Head pending_;
};

}  // namespace bw
