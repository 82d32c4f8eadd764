// The SQLite store's schema: versioned migrations (PRAGMA user_version counts
// those applied) and the audit log's append-only triggers.  docs/running.md
// lists the versions.  Internal to the SQLite store.
//
// Thread-safety: as the store (one owner thread), before any other use.
#pragma once

#include "daemon/sqlite_db.h"

namespace bw {

// Brings the schema of `db` to the current version, each migration in its own
// transaction; refuses a store written by a newer breachwatchd.
[[nodiscard]] Status MigrateSchema(SqliteDb& db);

}  // namespace bw
