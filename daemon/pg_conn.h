// The libpq helpers the PostgreSQL store is written with: `PgConn`, one session to the server,
// `PgResult`, one statement's result, and `PgParam`, one bound parameter (text, NULL or binary
// bytes).  Internal to the PostgreSQL store (daemon/pg_*.cc); everything else talks to the Store
// interface.
//
// Pipeline mode (libpq's, PostgreSQL 14+) is how the store commits a batch in one round trip:
// between EnterPipeline() and ExitPipeline(), Send() queues a statement without waiting for its
// result, and Sync() sends everything queued with a sync point and reads every result.  Statements
// with parameters are sent as named prepared statements (parsed once per session).
//
// Text parameters are sent as valid UTF-8 without NUL bytes (the server refuses both): anything
// else is replaced by U+FFFD, so a stray byte in a topic or a rejection note can never make a
// commit fail.  Verbatim bytes (inbound payloads) go as binary bytea parameters, unchanged.
//
// Thread-safety: none; a connection belongs to one thread (the store's owner).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "handlers/base/status.h"

namespace bw {

struct PgParam {
  std::optional<std::string> value;  // nullopt: SQL NULL
  bool binary = false;               // bytea bytes, sent as they are
};

inline PgParam PgText(std::string s) { return {std::move(s), false}; }
inline PgParam PgInt(int64_t v) { return {std::to_string(v), false}; }
inline PgParam PgNull() { return {std::nullopt, false}; }
// NULL for an empty string (as SqliteDb's BindOrNull).
inline PgParam PgTextOrNull(const std::string& s) {
  return s.empty() ? PgNull() : PgText(s);
}
inline PgParam PgBytes(std::string s) { return {std::move(s), true}; }

// One statement's result; rows and values in text form.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    if (IsNull(row, col)) return "";
    return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  int64_t Int(int row, int col) const;
  // A bytea column (text form, hex) decoded to its bytes.
  std::string Bytes(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;
  // The command tag's verb ("COMMIT", or "ROLLBACK" for a COMMIT of a failed transaction).
  std::string command() const { return r_ ? PQcmdStatus(r_.get()) : ""; }

 private:
  std::shared_ptr<PGresult> r_;
};

class PgConn {
 public:
  // Connects with `conninfo` (a libpq connection string or URI).
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& conninfo);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement with parameters $1..$n.  A server error is IoError naming `what`
  // and the server's message; a lost session is Unavailable.
  [[nodiscard]] Result<PgResult> Exec(const char* sql, const std::vector<PgParam>& params,
                                      const char* what);
  // Runs one or more statements without parameters (schema, BEGIN/COMMIT).
  [[nodiscard]] Status Run(const std::string& sql, const char* what);

  // Pipeline mode (see above).  In pipeline mode Exec and Run queue their (single) statement
  // and Sync(), returning its result, so a read inside a pipelined transaction sees the queued
  // writes before it.
  [[nodiscard]] Status EnterPipeline();
  bool in_pipeline() const { return PQpipelineStatus(conn_) != PQ_PIPELINE_OFF; }
  // Queues one statement.  An error here is a lost session (nothing more can be sent); a
  // statement's own failure is reported by the Sync() that reads it.
  [[nodiscard]] Status Send(const char* sql, const std::vector<PgParam>& params, const char* what);
  // Sends the queued statements with a sync point and reads all their results.  Returns the
  // first failure, naming its `what` (the server skips every statement after a failed one until
  // the sync point, and a transaction it was in is aborted), else the last statement's result.
  [[nodiscard]] Result<PgResult> Sync();
  // Sync()s what is still queued (discarding the results) and leaves pipeline mode.
  void ExitPipeline();
  // The SQLSTATE of the server error of the last failed Exec/Run/Sync ("" when the failure was
  // not the server's: a lost session).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Round trips to the server since connect (Exec, Run and Sync each count one): what the
  // store's pipelining saves, for tests and logs.
  int64_t round_trips() const { return round_trips_; }

  // Whether the session is up (false after the server closed it or the network failed).
  bool alive() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Reconnects a lost session with the same conninfo.  Session state (advisory locks, an open
  // transaction) is gone.
  [[nodiscard]] Status Reconnect();
  // The server process id of this session (for pg_terminate_backend in tests and logs).
  int backend_pid() const { return PQbackendPID(conn_); }
  PGconn* raw() { return conn_; }

 private:
  explicit PgConn(PGconn* c) : conn_(c) {}
  Status Failed(const char* what, PGresult* r);
  // The parameters of one statement as libpq takes them (`held` keeps sanitised text alive).
  struct Bound {
    std::vector<std::string> held;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  static void Bind(const std::vector<PgParam>& params, Bound* out);
  void ForgetSession();  // after a reconnect: nothing queued, nothing prepared

  // One statement queued in the pipeline: whose result Sync() reads, and what to call it.
  struct Queued {
    const char* what;
    std::string prepare_of;  // non-empty: the result is the PREPARE of this SQL
  };
  PGconn* conn_;
  std::vector<Queued> queue_;
  // Named prepared statements of this session, by SQL text; a name is recorded as `true` once
  // the server confirmed it (a PREPARE skipped after a failure in its pipeline never happened).
  std::map<std::string, std::pair<std::string, bool>> prepared_;
  int64_t prepared_count_ = 0;
  std::string last_sqlstate_;
  int64_t round_trips_ = 0;
};

// `s` as valid UTF-8 without NUL: invalid sequences and NUL become U+FFFD.
std::string PgSafeText(const std::string& s);

}  // namespace bw
