// NameThisThread: gives the calling thread a name that `top -H`, `ps -L`, perf, gdb and core dumps
// show (Linux: at most 15 characters, longer names are cut).  The daemon's threads are its main
// loop (the process name), "bw-commit" (the journal's committer), "bw-checkpoint" (SQLite WAL
// checkpoints), "bw-zap" (CURVE authentication) and the ZeroMQ context's own I/O threads.
// Thread-safe: names only the caller.
#ifndef BREACHWATCH_DAEMON_THREAD_NAME_H_
#define BREACHWATCH_DAEMON_THREAD_NAME_H_

#include <pthread.h>

#include <string>

namespace bw {

inline void NameThisThread(const std::string& name) {
  // A name the kernel refuses (too long) only loses a diagnostic aid, never anything else.
  (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace bw

#endif  // BREACHWATCH_DAEMON_THREAD_NAME_H_
