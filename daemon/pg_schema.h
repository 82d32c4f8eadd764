// The PostgreSQL store's schema: versioned migrations, applied in order by the first daemon that
// opens the cluster (others wait on an advisory lock).  Internal to daemon/pg_store*.cc.
//
// The tables, their columns and their meaning are the SQLite store's (daemon/sqlite_schema.cc)
// at its current version, with PostgreSQL types (BIGSERIAL row numbers, BYTEA payloads), plus
// `leadership`, the fencing term of active/standby (daemon/leadership.h).
#pragma once

#include "daemon/pg_conn.h"
#include "handlers/base/status.h"

namespace bw {

// Brings the schema of the database behind `conn` to the current version.
[[nodiscard]] Status MigratePostgresSchema(PgConn& conn);

// The advisory-lock key of the schema migration, and the one whose holder is the active daemon
// (pg_try_advisory_lock, session level).
inline constexpr int64_t kPgMigrationLockKey = 0x6277'6d69'6772;  // "bwmigr"
inline constexpr int64_t kPgLeaderLockKey = 0x6277'6c65'6164;     // "bwlead"

}  // namespace bw
