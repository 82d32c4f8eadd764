#include "daemon/sqlite_checkpointer.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <string>

#include "daemon/sqlite_db.h"
#include "daemon/thread_name.h"

namespace bw {
namespace {

// A PASSIVE pass shorter than this leaves little for a RESTART after it to copy.
constexpr std::chrono::milliseconds kShortPass{100};

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                 std::chrono::milliseconds period,
                                                                 int64_t restart_pages) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("cannot open the checkpoint connection to " + path + ": " + msg);
  }
  // A RESTART checkpoint waits for a gap between the writer's transactions.
  SetShortBusyWait(db, std::chrono::seconds(5));
  // A connection that has never read the database does not know it is in WAL mode: its
  // checkpoints return at once with nothing done (a WAL of 2.5 GB and a database file of one page
  // after a million grants).  Reading the journal mode opens the WAL.
  sqlite3_stmt* mode = nullptr;
  std::string journal_mode;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &mode, nullptr) == SQLITE_OK &&
      sqlite3_step(mode) == SQLITE_ROW) {
    journal_mode = reinterpret_cast<const char*>(sqlite3_column_text(mode, 0));
  }
  sqlite3_finalize(mode);
  if (journal_mode != "wal") {
    std::string msg = journal_mode.empty() ? sqlite3_errmsg(db) : "journal mode " + journal_mode;
    sqlite3_close_v2(db);
    return Status::IoError("the checkpoint connection to " + path + " does not see a WAL: " + msg);
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(db, period, restart_pages));
}

WalCheckpointer::WalCheckpointer(sqlite3* db, std::chrono::milliseconds period,
                                 int64_t restart_pages)
    : db_(db), period_(period), restart_pages_(restart_pages), thread_([this] { Run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close_v2(db_);
}

void WalCheckpointer::Run() {
  NameThisThread("bw-checkpoint");
  std::unique_lock<std::mutex> lock(mu_);
  std::chrono::milliseconds wait = period_;
  int last_copied = -1;
  std::chrono::steady_clock::time_point last_warning{};
  // Caught up: wait a period.  Behind (the writer appended while it copied): go again at once,
  // each pass copying only what was appended meanwhile, until a pass copies the whole WAL and the
  // writer's next transaction can start it from its beginning.  A pass that copies nothing new
  // (a reader holds an old snapshot) waits a period too.
  while (!wake_.wait_for(lock, wait, [this] { return stop_; })) {
    lock.unlock();
    int wal_pages = 0, copied = 0;
    const auto pass_start = std::chrono::steady_clock::now();
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages,
                                       &copied);
    // What the RESTART would copy with the writer held back is what was committed during the
    // pass: little after a short pass, a great deal after a long one (a backlog draining, whose
    // commits a RESTART would stop for as long; the WAL may grow then, up to four times the
    // threshold, and is restarted once the passes are short again).
    const bool short_pass = std::chrono::steady_clock::now() - pass_start < kShortPass;
    if (rc == SQLITE_OK && wal_pages > restart_pages_ &&
        (short_pass || wal_pages > 4 * restart_pages_)) {
      // Too large to wait for a quiet moment: hold the writer back for the rest of the copy, so
      // that its next transaction starts the WAL from its beginning.  Whether or not this pass
      // copied everything: the writer restarts the WAL only when a transaction of its begins
      // with every frame copied, which under a steady stream of commits never happens (one
      // lands during every pass).  The WAL then grew without end (379 MB to 690 MB in a 20 s
      // run at 16,000 events/s), and a WAL that grows makes every commit's fdatasync write its
      // inode too, behind the database file's own sync (docs/benchmarks.md, p99).
      rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, &wal_pages, &copied);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY &&
        std::chrono::steady_clock::now() - last_warning > std::chrono::minutes(1)) {
      last_warning = std::chrono::steady_clock::now();
      spdlog::warn("WAL checkpoint failed (the WAL grows until one succeeds): {}",
                   sqlite3_errmsg(db_));
    }
    const bool behind = rc == SQLITE_OK && copied < wal_pages && copied != last_copied;
    last_copied = copied;
    wait = behind ? std::chrono::milliseconds(1) : period_;
    lock.lock();
  }
}

}  // namespace bw
