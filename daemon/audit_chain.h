// The audit log's hash chain: what makes an edited or deleted audit row
// detectable (Data Protection Act 2018 s.62 logs; docs/security.md).
//
// Every row of `audit_log` carries `prev_hash` (the `hash` of the row before
// it, or of the last purged row, kept in `audit_anchor`) and `hash`, the
// SHA-256 of a canonical, length-prefixed serialisation of its own fields and
// `prev_hash`.  Editing any field changes that row's hash; deleting a row
// breaks the link of the row after it; the table's triggers refuse UPDATE and
// DELETE (except a purge of rows older than the retention minimum), so a
// change needs someone to drop a trigger first — and `VerifyAuditLog` finds it.
//
// Deleting the newest rows leaves a shorter, valid chain: compare the head
// (`AuditVerifyReport::head_hash`, also in `breachctl audit verify` output and
// the daemon's log) with one recorded elsewhere to detect that.
//
// Thread-safety: free functions; VerifyAuditLog / ExportAuditLog open their own
// read-only connection, safe while the daemon writes (WAL).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "handlers/base/status.h"

struct sqlite3;

namespace bw {

// One stored audit row, as hashed.
struct AuditRow {
  int64_t id = 0;
  std::string at;  // RFC 3339
  std::string category;
  std::string actor;
  std::string op;
  std::string subjects;
  std::string reason;
  std::string outcome;
  std::string detail;
  std::string recipients;
  std::string prev_hash;
  std::string hash;
};

// The hash that chains the very first row.
extern const char kAuditGenesisHash[];

// Lower-case hex SHA-256 of the row's canonical form (every field but `hash`).
[[nodiscard]] std::string AuditRowHash(const AuditRow& row);

struct AuditVerifyReport {
  int64_t rows = 0;
  int64_t first_id = 0;
  int64_t last_id = 0;
  int64_t purged_through = 0;  // rows with id <= this were purged (retention)
  std::string head_hash;       // hash of the newest row
  std::vector<std::string> problems;  // each names the row id and what is wrong
  bool ok() const { return problems.empty(); }
};

// Calls `fn` for every row of `db`'s audit_log in id order until it returns
// false (the daemon's own connection: used by the schema migration).
[[nodiscard]] Status ForEachAuditRow(sqlite3* db, const std::function<bool(const AuditRow&)>& fn);
// The same on a read-only connection of its own to the store at `db_path`.
[[nodiscard]] Status ForEachAuditRow(const std::string& db_path,
                                     const std::function<bool(const AuditRow&)>& fn);

// Walks the rows `rows` gives (in id order, calling its argument until it returns false) as a
// chain that continues from the purge anchor (`anchor_hash` empty: the genesis hash).  Shared by
// the SQLite and the PostgreSQL verifiers.
using AuditRowSource =
    std::function<Status(const std::function<bool(const AuditRow&)>& fn)>;
[[nodiscard]] Result<AuditVerifyReport> VerifyAuditChain(int64_t purged_through,
                                                         const std::string& anchor_hash,
                                                         const AuditRowSource& rows);

// Walks the whole chain of the store at `db_path` (read-only).  An unreadable
// store is an error; a broken chain is a report with problems.
[[nodiscard]] Result<AuditVerifyReport> VerifyAuditLog(const std::string& db_path);

// One audit row as the JSON line `audit export` writes (id, the text fields, hashes).
[[nodiscard]] std::string AuditRowJson(const AuditRow& row);

// Writes audit rows with `from <= at < to` (RFC 3339 strings; empty = open)
// as JSON lines, oldest first, hashes included, for a regulator.
[[nodiscard]] Result<int64_t> ExportAuditLog(const std::string& db_path, const std::string& from,
                                             const std::string& to, std::ostream& out);

}  // namespace bw
