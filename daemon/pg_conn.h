// The libpq helpers the PostgreSQL store is written with: `PgConn`, one session to the server,
// `PgResult`, one statement's result, and `PgParam`, one bound parameter (text, NULL or binary
// bytes).  Internal to the PostgreSQL store (daemon/pg_*.cc); everything else talks to the Store
// interface.
//
// Text parameters are sent as valid UTF-8 without NUL bytes (the server refuses both): anything
// else is replaced by U+FFFD, so a stray byte in a topic or a rejection note can never make a
// commit fail.  Verbatim bytes (inbound payloads) go as binary bytea parameters, unchanged.
//
// Thread-safety: none; a connection belongs to one thread (the store's owner).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
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

  PGconn* conn_;
};

// `s` as valid UTF-8 without NUL: invalid sequences and NUL become U+FFFD.
std::string PgSafeText(const std::string& s);

}  // namespace bw
