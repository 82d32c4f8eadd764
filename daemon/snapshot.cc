#include "daemon/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "handlers/engine/engine_snapshot.h"

namespace bw {
namespace {

// File layout (host byte order; the file is read by the same build on the same machine):
//   magic "BWSNAPSH" | u32 file format | u32 engine format | i64 position | u64 row digest |
//   u64 state size | state bytes | u64 checksum of everything before it
constexpr char kMagic[8] = {'B', 'W', 'S', 'N', 'A', 'P', 'S', 'H'};
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8 + 8;

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T Get(std::string_view in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  return v;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("writing", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Status WriteSnapshotFile(const std::string& path, const SnapshotFile& file) {
  std::string head;
  head.append(kMagic, sizeof kMagic);
  Put<uint32_t>(&head, kSnapshotFileFormat);
  Put<uint32_t>(&head, file.engine_format);
  Put<int64_t>(&head, file.position);
  Put<uint64_t>(&head, file.row_digest);
  Put<uint64_t>(&head, file.state.size());
  const uint64_t checksum = Digest64(file.state, Digest64(head));
  std::string tail;
  Put<uint64_t>(&tail, checksum);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating", tmp);
  Status s = WriteAll(fd, head, tmp);
  if (s.ok()) s = WriteAll(fd, file.state, tmp);
  if (s.ok()) s = WriteAll(fd, tail, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("flushing", tmp);
  ::close(fd);
  if (s.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) s = Errno("renaming", tmp);
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  // The rename itself made durable.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<SnapshotFile> ReadSnapshotFile(const std::string& path) {
  // One read into a buffer of the file's size: reading it a character at a time through a
  // growing string took most of the 10 s a 170 MB snapshot (100,000 instruments) took to load.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no snapshot at " + path);
    return Status::IoError("cannot open snapshot " + path + ": " + std::strerror(errno));
  }
  std::string bytes;
  struct stat st {};
  Status read_status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    read_status = Status::IoError("cannot stat snapshot " + path + ": " + std::strerror(errno));
  } else {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_status = Status::IoError("cannot read snapshot " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;  // shorter than it was: judged torn below
      got += static_cast<size_t>(n);
    }
    bytes.resize(got);
  }
  ::close(fd);
  if (!read_status.ok()) return read_status;
  const std::string_view all(bytes);
  auto bad = [&](const std::string& why) {
    return Status::BadInput("snapshot", "snapshot " + path + " " + why);
  };
  if (all.size() < kHeaderBytes + 8) return bad("is torn (shorter than its header)");
  if (std::memcmp(all.data(), kMagic, sizeof kMagic) != 0) return bad("is not a snapshot");
  const uint32_t file_format = Get<uint32_t>(all, 8);
  if (file_format != kSnapshotFileFormat) {
    return bad("has file format " + std::to_string(file_format) + ", this build reads " +
               std::to_string(kSnapshotFileFormat));
  }
  SnapshotFile f;
  f.engine_format = Get<uint32_t>(all, 12);
  f.position = Get<int64_t>(all, 16);
  f.row_digest = Get<uint64_t>(all, 24);
  const uint64_t size = Get<uint64_t>(all, 32);
  if (size != all.size() - kHeaderBytes - 8) return bad("is torn (its size does not match)");
  const std::string_view state = all.substr(kHeaderBytes, size);
  const uint64_t checksum = Get<uint64_t>(all, kHeaderBytes + size);
  if (Digest64(state, Digest64(all.substr(0, kHeaderBytes))) != checksum) {
    return bad("is corrupt (checksum mismatch)");
  }
  // The state is moved out of the bytes read, not copied (it is most of them).
  bytes.resize(kHeaderBytes + size);
  bytes.erase(0, kHeaderBytes);
  f.state = std::move(bytes);
  return f;
}

EngineSnapshots::EngineSnapshots(std::string path, std::chrono::seconds every)
    : path_(std::move(path)), every_(every) {}

EngineSnapshots::~EngineSnapshots() { Wait(); }

void EngineSnapshots::Wait() { Reap(/*block=*/true); }

std::optional<SnapshotFile> EngineSnapshots::Load(Engine* engine) {
  if (path_.empty()) return std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  auto file = ReadSnapshotFile(path_);
  if (!file.ok()) {
    if (file.status().code() != ErrorCode::kNotFound) {
      spdlog::warn("snapshot not used, replaying the whole journal: {}", file.status().ToString());
    }
    return std::nullopt;
  }
  if (file->engine_format != kEngineStateFormat) {
    spdlog::warn(
        "snapshot {} holds engine state format {}, this build reads {}: replaying the "
        "whole journal",
        path_, file->engine_format, kEngineStateFormat);
    return std::nullopt;
  }
  auto state = DecodeEngineState(file->state);
  if (!state.ok()) {
    spdlog::warn("snapshot {} not used, replaying the whole journal: {}", path_,
                 state.status().ToString());
    return std::nullopt;
  }
  engine->RestoreState(std::move(*state));
  written_position_ = file->position;
  spdlog::info("snapshot {} loaded (journal row {}, {} bytes) in {} ms", path_, file->position,
               file->state.size(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  file->state.clear();
  file->state.shrink_to_fit();
  return std::move(*file);
}

void EngineSnapshots::NotePosition(int64_t position, uint64_t row_digest, bool replayed_rows) {
  position_ = JournalPosition{position, row_digest};
  if (replayed_rows) next_due_ = TimePoint{};
}

void EngineSnapshots::MaybeWrite(const Engine& engine, Journal& journal, TimePoint now,
                                 bool force) {
  if (path_.empty()) return;
  Reap(/*block=*/false);
  if (!force && (every_.count() <= 0 || now < next_due_)) return;
  if (writer_ > 0) return;  // the previous one is still being written: try again next period
  next_due_ = now + every_;
  if (auto committed = journal.LastHandledCommitted();
      committed && committed->row > position_.row) {
    position_ = *committed;
  }
  if (position_.row <= 0 || position_.row == written_position_) return;  // nothing new
  SnapshotFile file;
  file.position = position_.row;
  file.row_digest = position_.digest;
  file.engine_format = kEngineStateFormat;
  // The child encodes and writes the state as it is at the fork (its pages are the parent's,
  // copied only when the parent changes them); the parent carries on at once.
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    file.state = EncodeEngineState(engine.state());
    const Status s = WriteSnapshotFile(path_, file);
    if (!s.ok()) {
      const std::string why = s.ToString() + "\n";
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, why.data(), why.size());
    }
    ::_exit(s.ok() ? 0 : 1);
  }
  if (pid < 0) {
    spdlog::error("snapshot not written: cannot fork: {}", std::strerror(errno));
    return;
  }
  writer_ = pid;
  writing_position_ = file.position;
  writer_started_ = started;
  spdlog::debug("snapshot of journal row {} being written by process {} (fork took {} us)",
                file.position, pid,
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count());
}

void EngineSnapshots::Reap(bool block) {
  if (writer_ <= 0) return;
  int status = 0;
  pid_t done;
  do {
    done = ::waitpid(writer_, &status, block ? 0 : WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == 0) return;  // still writing
  writer_ = 0;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - writer_started_)
                        .count();
  if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    spdlog::error("snapshot of journal row {} not written (start-up uses the previous one)",
                  writing_position_);
    return;
  }
  written_position_ = writing_position_;
  spdlog::info("snapshot {} written: journal row {} (in the background, {} ms)", path_,
               writing_position_, took);
}

}  // namespace bw
