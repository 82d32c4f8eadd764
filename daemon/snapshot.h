// Snapshots of the engine state, so that start-up replays only the journal after one.
//
// A snapshot file holds the engine state (handlers/engine/engine_snapshot.h) as of journal
// position P — the inbound row of the last handled message it includes — with the digest of that
// row's channel and payload, a framing format version, the engine-state format version and a
// checksum of everything.  At start-up (Matcher::Restore) the file is read; it is used only when
// its framing and checksum are intact, both versions are this build's, and the store's handled
// row P exists with the same digest (not a store replaced, restored from an older backup or
// truncated).  Then the engine takes the snapshot's state and only the handled rows after P are
// replayed; otherwise the reason is logged and the whole journal is replayed, as without one.
//
// Writing: the daemon asks for one every [store] snapshot_every_s, only when nothing is held
// or in flight (the engine's state is then exactly what the store holds up to its last handled
// row), and after a start-up that replayed rows.  It forks: the child process encodes the state
// as it was at the fork (copy-on-write pages: the daemon's thread pauses only for the fork,
// which copies page tables, not the state) and writes it to "<path>.tmp", flushes it and renames it
// over <path>, so that a crash leaves the previous snapshot or the new one, never a torn file
// under <path> (a torn or corrupt one is refused by the checksum anyway).  The child touches
// nothing but the engine's memory and that file, and leaves with _exit.  While it runs, pages the
// daemon changes are copied: memory grows by at most the state's size.  The parent collects it at
// a later call and logs the result; at most one runs at a time.
//
// Thread-safety: Load, MaybeWrite and Wait from one thread (the matcher's).
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <chrono>

#include "daemon/journal.h"
#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/engine/engine.h"

namespace bw {

// Changes whenever the file's framing changes (the engine state has its own version).
inline constexpr uint32_t kSnapshotFileFormat = 1;

struct SnapshotFile {
  int64_t position = 0;        // the inbound row of the last handled message included
  uint64_t row_digest = 0;     // JournalRowDigest of that row
  uint32_t engine_format = 0;  // kEngineStateFormat of the writer
  std::string state;           // EncodeEngineState bytes
};

// Writes `file` to `path` (through "<path>.tmp", fsync, rename, fsync of the directory).
[[nodiscard]] Status WriteSnapshotFile(const std::string& path, const SnapshotFile& file);
// The snapshot at `path`: NotFound when there is none; BadInput when it is torn, corrupt or of
// another framing format (the engine-state format is the caller's to check).
[[nodiscard]] Result<SnapshotFile> ReadSnapshotFile(const std::string& path);

class EngineSnapshots {
 public:
  // `path` empty: snapshots disabled (Load finds none, MaybeWrite writes none).
  EngineSnapshots(std::string path, std::chrono::seconds every);
  ~EngineSnapshots();  // waits for a write in progress
  EngineSnapshots(const EngineSnapshots&) = delete;
  EngineSnapshots& operator=(const EngineSnapshots&) = delete;

  const std::string& path() const { return path_; }

  // Reads the snapshot and puts its state into `engine`.  Returns the position and row digest
  // to verify against the journal (Matcher::Restore), or nullopt (no usable snapshot: the
  // reason is logged; `engine` is untouched).
  std::optional<SnapshotFile> Load(Engine* engine);

  // The position the engine's state is known to include (after a replay).  `replayed_rows`: the
  // replay went beyond the snapshot (or there was none), so the next MaybeWrite writes one
  // whatever the period.
  void NotePosition(int64_t position, uint64_t row_digest, bool replayed_rows);

  // When one is due at `now` (or `force`), none is being written, and the journal has handled
  // rows beyond the last snapshot: forks a process that writes `engine`'s state as of the
  // journal's last handled row.  The caller guarantees that the engine's state is exactly the
  // journal's (nothing held or in flight).  A failure is logged; another is tried next period.
  void MaybeWrite(const Engine& engine, Journal& journal, TimePoint now, bool force = false);

  // Waits for a write in progress and collects it (tests, shutdown).
  void Wait();

 private:
  std::string path_;
  std::chrono::seconds every_;
  TimePoint next_due_{};
  // Collects the writing process when it has finished (`block`: waits for it), logging how it
  // went.
  void Reap(bool block);

  int64_t written_position_ = -1;  // position of the last snapshot written or loaded
  JournalPosition position_;       // what the engine's state includes, as far as known
  pid_t writer_ = 0;               // the process writing one, if any
  int64_t writing_position_ = 0;
  std::chrono::steady_clock::time_point writer_started_;
};

}  // namespace bw
