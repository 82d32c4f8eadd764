// SQLite implementation of Store: opening, transactions and the audit append.
// See store.h for the interface and sqlite_store_impl.h for where the rest is.
#include <sqlite3.h>

#include <memory>
#include <string>

#include "daemon/sqlite_schema.h"
#include "daemon/sqlite_store_impl.h"
#include "daemon/store.h"

namespace bw {

Status SqliteStore::Init() {
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"}) {
    Status s = db_.Exec(pragma);
    if (!s.ok()) return s;
  }
  Status s = MigrateSchema(db_);
  if (!s.ok()) return s;
  return audit_.LoadHead();
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
  Status s = store->Init();
  if (!s.ok()) return Status::IoError("store " + path + ": " + s.message());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bw
