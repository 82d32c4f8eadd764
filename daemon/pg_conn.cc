// libpq helpers of the PostgreSQL store.  See pg_conn.h.
#include "daemon/pg_conn.h"

#include <cstdlib>
#include <cstring>

namespace bw {

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

std::string PgResult::Bytes(int row, int col) const {
  if (IsNull(row, col)) return "";
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (raw == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

int64_t PgResult::affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

std::string PgSafeText(const std::string& s) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c == 0) {
      len = 0;
    } else if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool valid = len > 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (valid) {
      // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
      static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) valid = false;
    }
    if (valid) {
      out.append(s, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

namespace {
void IgnoreNotice(void*, const char*) {}
}  // namespace

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (c == nullptr) return Status::Unavailable("postgresql: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(c);
    return Status::Unavailable("cannot connect to postgresql: " + msg);
  }
  PQsetNoticeProcessor(c, &IgnoreNotice, nullptr);
  return std::unique_ptr<PgConn>(new PgConn(c));
}

PgConn::~PgConn() { PQfinish(conn_); }

Status PgConn::Reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::Unavailable("cannot reconnect to postgresql: " + msg);
  }
  PQsetNoticeProcessor(conn_, &IgnoreNotice, nullptr);
  return Status::Ok();
}

Status PgConn::Failed(const char* what, PGresult* r) {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  if (msg.empty()) msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (r) PQclear(r);
  if (!alive()) return Status::Unavailable(std::string(what) + ": postgresql session lost: " + msg);
  return Status::IoError(std::string(what) + ": " + msg);
}

Result<PgResult> PgConn::Exec(const char* sql, const std::vector<PgParam>& params,
                              const char* what) {
  std::vector<std::string> held;  // sanitised text values
  held.reserve(params.size());
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const PgParam& p = params[i];
    if (!p.value) {
      values[i] = nullptr;
      continue;
    }
    if (p.binary) {
      values[i] = p.value->data();
      lengths[i] = static_cast<int>(p.value->size());
      formats[i] = 1;
    } else {
      held.push_back(PgSafeText(*p.value));
      values[i] = held.back().c_str();
      lengths[i] = static_cast<int>(held.back().size());
      formats[i] = 0;
    }
  }
  PGresult* r = PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr, values.data(),
                             lengths.data(), formats.data(), 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failed(what, r);
  return PgResult(r);
}

Status PgConn::Run(const std::string& sql, const char* what) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failed(what, r);
  PQclear(r);
  return Status::Ok();
}

}  // namespace bw
