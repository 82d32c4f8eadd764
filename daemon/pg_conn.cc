// libpq helpers of the PostgreSQL store.  See pg_conn.h.
#include "daemon/pg_conn.h"

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>

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
  PQreset(conn_);  // also leaves pipeline mode
  ForgetSession();
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::Unavailable("cannot reconnect to postgresql: " + msg);
  }
  PQsetNoticeProcessor(conn_, &IgnoreNotice, nullptr);
  return Status::Ok();
}

void PgConn::ForgetSession() {
  queue_.clear();
  prepared_.clear();
}

Status PgConn::Failed(const char* what, PGresult* r) {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  if (msg.empty()) msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  if (r) PQclear(r);
  if (!alive()) return Status::Unavailable(std::string(what) + ": postgresql session lost: " + msg);
  return Status::IoError(std::string(what) + ": " + msg);
}

void PgConn::Bind(const std::vector<PgParam>& params, Bound* b) {
  b->held.reserve(params.size());  // no reallocation: values point into it
  b->values.assign(params.size(), nullptr);
  b->lengths.assign(params.size(), 0);
  b->formats.assign(params.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const PgParam& p = params[i];
    if (!p.value) continue;
    if (p.binary) {
      b->values[i] = p.value->data();
      b->lengths[i] = static_cast<int>(p.value->size());
      b->formats[i] = 1;
    } else {
      b->held.push_back(PgSafeText(*p.value));
      b->values[i] = b->held.back().c_str();
      b->lengths[i] = static_cast<int>(b->held.back().size());
    }
  }
}

Result<PgResult> PgConn::Exec(const char* sql, const std::vector<PgParam>& params,
                              const char* what) {
  if (in_pipeline()) {
    if (Status s = Send(sql, params, what); !s.ok()) return s;
    return Sync();
  }
  Bound b;
  Bind(params, &b);
  ++round_trips_;
  PGresult* r = PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr, b.values.data(),
                             b.lengths.data(), b.formats.data(), 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failed(what, r);
  return PgResult(r);
}

Status PgConn::Run(const std::string& sql, const char* what) {
  if (in_pipeline()) return Exec(sql.c_str(), {}, what).status();
  ++round_trips_;
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failed(what, r);
  PQclear(r);
  return Status::Ok();
}

Status PgConn::EnterPipeline() {
  if (in_pipeline()) return Status::Ok();
  if (PQenterPipelineMode(conn_) != 1) return Failed("entering pipeline mode", nullptr);
  return Status::Ok();
}

Status PgConn::Send(const char* sql, const std::vector<PgParam>& params, const char* what) {
  Bound b;
  Bind(params, &b);
  const int n = static_cast<int>(params.size());
  // Statements with parameters are the store's fixed ones: prepared once per session (bounded,
  // in case a caller builds its SQL).
  constexpr size_t kMaxPrepared = 64;
  auto it = prepared_.find(sql);
  if (n > 0 && it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    const std::string name = "bw_" + std::to_string(++prepared_count_);
    if (PQsendPrepare(conn_, name.c_str(), sql, n, nullptr) != 1) return Failed(what, nullptr);
    it = prepared_.emplace(sql, std::make_pair(name, false)).first;
    queue_.push_back({what, sql});
  }
  const int sent = it != prepared_.end()
                       ? PQsendQueryPrepared(conn_, it->second.first.c_str(), n, b.values.data(),
                                             b.lengths.data(), b.formats.data(), 0)
                       : PQsendQueryParams(conn_, sql, n, nullptr, b.values.data(),
                                           b.lengths.data(), b.formats.data(), 0);
  if (sent != 1) return Failed(what, nullptr);
  queue_.push_back({what, ""});
  return Status::Ok();
}

Result<PgResult> PgConn::Sync() {
  std::vector<Queued> queue;
  queue.swap(queue_);
  ++round_trips_;
  last_sqlstate_.clear();
  std::optional<Status> failure;
  PgResult last;
  bool lost = PQpipelineSync(conn_) != 1;
  if (lost) failure = Failed("sending the pipeline", nullptr);
  for (size_t i = 0; i < queue.size() && !lost; ++i) {
    const Queued& q = queue[i];
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {  // no result where one is due: the session is gone
      lost = true;
      if (!failure) failure = Failed(q.what, nullptr);
      break;
    }
    const ExecStatusType st = PQresultStatus(r);
    const bool good = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!q.prepare_of.empty()) {
      if (good) prepared_[q.prepare_of].second = true;
    }
    if (good && q.prepare_of.empty()) {
      last = PgResult(r);
    } else if (good || st == PGRES_PIPELINE_ABORTED) {
      // Skipped after an earlier failure, which is the one reported.
      if (!good && !failure) {
        failure = Status::IoError(std::string(q.what) + ": skipped by the server");
      }
      PQclear(r);
    } else if (!failure) {
      failure = Failed(q.what, r);
    } else {
      PQclear(r);
    }
    while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);  // NULL ends one statement's
  }
  if (!lost) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
      if (!failure) {
        failure = Failed("reading the pipeline", r);
      } else if (r) {
        PQclear(r);
      }
    } else {
      PQclear(r);
    }
  }
  // A PREPARE whose result was not a success (or never came) did not happen.
  for (auto p = prepared_.begin(); p != prepared_.end();) {
    p = p->second.second ? std::next(p) : prepared_.erase(p);
  }
  if (failure) return *failure;
  return last;
}

void PgConn::ExitPipeline() {
  if (!in_pipeline()) return;
  if (!queue_.empty()) Sync().ok();
  // A pipeline left with results unread (after a lost session) cannot be left: drain it.
  for (int i = 0; i < 1000 && PQexitPipelineMode(conn_) != 1 && alive(); ++i) {
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  }
}

}  // namespace bw
