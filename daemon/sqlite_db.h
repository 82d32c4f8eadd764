// The SQLite helpers the store is written with: `SqliteDb`, one open
// connection with its cache of prepared-once statements, `Stmt`, one
// statement for one use, and `SetShortBusyWait`.  Internal to the SQLite store
// (daemon/sqlite_store*.cc, daemon/sqlite_schema.cc, daemon/sqlite_checkpointer.cc);
// everything else talks to the Store interface.
//
// Thread-safety: none; a connection belongs to one thread (the store's owner).
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "handlers/base/status.h"

namespace bw {

// Makes a connection that finds the database locked retry every 200 microseconds for up to
// `timeout` (it replaces PRAGMA busy_timeout).  SQLite's own busy_timeout sleeps 1, 2, 5, 10, 15,
// 20, 25... ms between tries, so a writer held back by a checkpoint that ends after 3 ms slept
// until 8 ms and one that ends after 40 ms until 78 ms: the committer's commits wait out a RESTART
// checkpoint's copy (daemon/sqlite_checkpointer.h), and the checkpointer waits for a gap between
// them.
inline void SetShortBusyWait(sqlite3* db, std::chrono::milliseconds timeout) {
  static constexpr int kSleepUs = 200;
  // The callback's argument: the number of tries after which to give up.
  static_assert(sizeof(void*) >= sizeof(intptr_t));
  const intptr_t tries = static_cast<intptr_t>(timeout.count()) * 1000 / kSleepUs;
  sqlite3_busy_handler(
      db,
      [](void* max_tries, int tries_so_far) -> int {
        if (tries_so_far >= reinterpret_cast<intptr_t>(max_tries)) return 0;
        usleep(kSleepUs);
        return 1;
      },
      reinterpret_cast<void*>(tries));
}

// A prepared statement for one use: finalized afterwards, or, when it came from
// the connection's cache (hot statements), reset for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  explicit Stmt(sqlite3_stmt* cached)
      : stmt_(cached), rc_(cached ? SQLITE_OK : SQLITE_ERROR), cached_(true) {}
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Binds NULL for an empty string.
  Stmt& BindOrNull(int i, const std::string& s) {
    if (s.empty()) {
      sqlite3_bind_null(stmt_, i);
      return *this;
    }
    return Bind(i, s);
  }
  Stmt& BindBlob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  bool cached_ = false;
};

// One open connection: owns the handle and the prepared-once statements.
class SqliteDb {
 public:
  // Takes ownership of `db` (closed, after the cached statements, on destruction).
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* handle() const { return db_; }
  // True while a transaction is open (BEGIN ran, COMMIT/ROLLBACK not yet).
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  int64_t LastInsertRowid() const { return static_cast<int64_t>(sqlite3_last_insert_rowid(db_)); }
  int64_t Changes() const { return sqlite3_changes(db_); }

  // Runs SQL text (one or more statements, no parameters).
  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::IoError(std::string("sqlite: ") + msg);
  }
  // An I/O error naming `what` failed and SQLite's message for the last call.
  Status Error(const std::string& what) const {
    return Status::IoError("sqlite: " + what + ": " + sqlite3_errmsg(db_));
  }
  // Steps a statement that returns no rows.
  Status StepDone(Stmt& st, const char* what) const {
    int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::Ok();
    return Error(what);
  }

  // Calls `fn(st)` for each row `st` returns; an error naming `what` unless it
  // ran to the end.
  template <typename Fn>
  Status ForEachRow(Stmt& st, const char* what, Fn&& fn) const {
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(st);
    return rc == SQLITE_DONE ? Status::Ok() : Error(what);
  }

  // Statements used for every message (intake, audit, alerts), prepared once.
  // Keyed by the address of their SQL text, which must be a string literal
  // (a function-local `static constexpr char kSql[]`).  Null when it does not prepare.
  sqlite3_stmt* Cached(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return nullptr;
    }
    cache_.emplace(sql, st);
    return st;
  }

 private:
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace bw
