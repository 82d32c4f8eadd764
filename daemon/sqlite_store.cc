// SQLite implementation of Store: opening, transactions and the audit append.
// See store.h for the interface and sqlite_store_impl.h for where the rest is.
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>

#include "daemon/sqlite_schema.h"
#include "daemon/sqlite_store_impl.h"
#include "daemon/store.h"

namespace bw {

namespace {

// The page cache of the store's connection (PRAGMA cache_size, in KiB when negative): the pages
// the hot path touches — the right edges of the inbound, alert and audit B-trees and the
// (source, msg_id) index the duplicate backstop reads — with room to spare.  SQLite's default
// is 2 MiB, which the (source, msg_id) index outgrows after a few hundred thousand events.
constexpr char kCacheSizePragma[] = "PRAGMA cache_size=-65536";  // 64 MiB
// Background WAL checkpoints (daemon/sqlite_checkpointer.h): how often, and the WAL size (pages
// of 4 KiB) beyond which one holds the writer back to restart the WAL: the largest the WAL file
// grows under a steady stream of commits.  Each restart stops commits while it copies what the
// pass before it left and syncs the database file: at 64 MiB, and restarting after long passes
// too, a 400,000-fix backlog paid for several and drained in 6.2 s (5.0-6.9) instead of 4.5 s.
constexpr std::chrono::milliseconds kCheckpointPeriod{200};
constexpr int64_t kCheckpointRestartPages = 65536;  // 256 MiB

}  // namespace

Status SqliteStore::Init(const std::string& path) {
  // wal_autocheckpoint=0: no commit runs a checkpoint; the checkpointer thread does (below).
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
        kCacheSizePragma, "PRAGMA wal_autocheckpoint=0"}) {
    Status s = db_.Exec(pragma);
    if (!s.ok()) return s;
  }
  SetShortBusyWait(db_.handle(), std::chrono::seconds(5));
  Status s = MigrateSchema(db_);
  if (!s.ok()) return s;
  s = audit_.LoadHead();
  if (!s.ok()) return s;
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) {
    // Not a file another connection can open: checkpoint at each commit as SQLite does.
    return db_.Exec("PRAGMA wal_autocheckpoint=1000");
  }
  auto checkpointer = WalCheckpointer::Start(path, kCheckpointPeriod, kCheckpointRestartPages);
  if (!checkpointer.ok()) return checkpointer.status();
  checkpointer_ = std::move(*checkpointer);
  return Status::Ok();
}

Status SqliteStore::Begin() {
  audit_.TransactionBegun();
  return db_.Exec("BEGIN IMMEDIATE");
}

Status SqliteStore::Commit() {
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  audit_.TransactionCommitted();
  return s;
}

void SqliteStore::Rollback() {
  if (db_.InTransaction()) db_.Exec("ROLLBACK").ok();
  audit_.TransactionRolledBack();
}

Status SqliteStore::InsertAudit(const AuditRecord& record) { return audit_.Append(record); }

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("cannot open store " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  Status s = store->Init(path);
  if (!s.ok()) return Status::IoError("store " + path + ": " + s.message());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bw
