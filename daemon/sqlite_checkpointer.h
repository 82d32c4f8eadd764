// WalCheckpointer: runs the SQLite WAL checkpoints of a store on a connection and a thread of its
// own, so that no commit pays for one.  The store's own connection sets wal_autocheckpoint=0
// (sqlite_store.cc); without this, the commit that crosses 1,000 WAL pages copies them into the
// database file and fsyncs it while every event behind it waits.
//
// Every `period` it runs a PASSIVE checkpoint, which copies what it can without taking the write
// lock, so the writer never waits for it; while the writer appends faster than one pass copies, it
// runs them back to back until one copies the whole WAL (the writer's next transaction then starts
// the WAL from its beginning, if it begins before another commit lands).  When the WAL holds more
// than `restart_pages` frames it runs a RESTART checkpoint after a pass that took under 100 ms,
// which holds new write transactions back until it has copied what the pass left (little: what
// was committed during it) and synced the database file; the next transaction then starts the
// WAL from its beginning.  After a longer pass (a backlog draining) it waits for a short one,
// unless the WAL holds more than four times `restart_pages`.
// So the WAL file stops growing once it has reached that size, and a commit's fdatasync, which
// overwrites frames of a file whose size does not change, has no inode to write.
//
// Thread-safety: Start() and the destructor on the owner's thread; the checkpoints run on the
// checkpointer's own thread and connection, which nothing else touches.  The destructor stops
// and joins the thread and closes its connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "handlers/base/status.h"

struct sqlite3;

namespace bw {

class WalCheckpointer {
 public:
  // Opens its own connection to the database file at `path` (already in WAL mode) and starts.
  [[nodiscard]] static Result<std::unique_ptr<WalCheckpointer>> Start(
      const std::string& path, std::chrono::milliseconds period, int64_t restart_pages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  WalCheckpointer(sqlite3* db, std::chrono::milliseconds period, int64_t restart_pages);
  void Run();

  sqlite3* const db_;
  const std::chrono::milliseconds period_;
  const int64_t restart_pages_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace bw
