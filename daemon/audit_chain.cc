// The audit log's hash chain.  See audit_chain.h.
#include "daemon/audit_chain.h"

#include <sodium.h>
#include <sqlite3.h>

#include <boost/json.hpp>

#include <memory>
#include <utility>

namespace bw {

const char kAuditGenesisHash[] = "genesis";

namespace {

// The text columns of audit_log after `id`, in column order, with the names
// the export gives them.  The hash covers all but the last (`hash` itself).
constexpr std::pair<const char*, std::string AuditRow::*> kTextColumns[] = {
    {"at", &AuditRow::at},
    {"category", &AuditRow::category},
    {"actor", &AuditRow::actor},
    {"op", &AuditRow::op},
    {"subjects", &AuditRow::subjects},
    {"reason", &AuditRow::reason},
    {"outcome", &AuditRow::outcome},
    {"detail", &AuditRow::detail},
    {"recipients", &AuditRow::recipients},
    {"prev_hash", &AuditRow::prev_hash},
    {"hash", &AuditRow::hash},
};

void AppendField(std::string* out, const std::string& value) {
  out->append(std::to_string(value.size())).append(":").append(value).append("\n");
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtCloser {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtCloser>;

std::string Column(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(st, col)))
           : std::string();
}

Result<DbPtr> OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::Unavailable("cannot open store " + path + ": " +
                               (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

// Reads rows matching `where` in id order; `fn` returns false to stop.
Status ForEachRow(sqlite3* db, const std::string& where, const std::vector<std::string>& args,
                  const std::function<bool(const AuditRow&)>& fn) {
  const std::string sql =
      "SELECT id, at, category, actor, op, subjects, reason, outcome, detail, recipients, "
      "prev_hash, hash FROM audit_log " +
      where + " ORDER BY id";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Status::Unavailable(std::string("cannot read the audit log: ") + sqlite3_errmsg(db));
  }
  StmtPtr st(raw);
  for (size_t i = 0; i < args.size(); ++i) {
    sqlite3_bind_text(raw, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  }
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    AuditRow r;
    r.id = sqlite3_column_int64(raw, 0);
    int col = 1;
    for (const auto& [name, field] : kTextColumns) r.*field = Column(raw, col++);
    if (!fn(r)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) {
    return Status::Unavailable(std::string("reading the audit log failed: ") + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

}  // namespace

Status ForEachAuditRow(sqlite3* db, const std::function<bool(const AuditRow&)>& fn) {
  return ForEachRow(db, "", {}, fn);
}

Status ForEachAuditRow(const std::string& db_path, const std::function<bool(const AuditRow&)>& fn) {
  auto db = OpenReadOnly(db_path);
  if (!db.ok()) return db.status();
  return ForEachRow(db->get(), "", {}, fn);
}

std::string AuditRowHash(const AuditRow& r) {
  std::string canonical = "breachwatch-audit-v1\n";
  AppendField(&canonical, std::to_string(r.id));
  for (const auto& [name, field] : kTextColumns) {
    if (field != &AuditRow::hash) AppendField(&canonical, r.*field);
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * sizeof digest);
  for (unsigned char b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

Result<AuditVerifyReport> VerifyAuditChain(int64_t purged_through, const std::string& anchor_hash,
                                           const AuditRowSource& rows) {
  AuditVerifyReport report;
  report.purged_through = purged_through;
  std::string expected_prev = anchor_hash.empty() ? std::string(kAuditGenesisHash) : anchor_hash;
  int64_t expected_id = report.purged_through + 1;
  Status s = rows([&](const AuditRow& r) {
    if (report.rows == 0) report.first_id = r.id;
    ++report.rows;
    report.last_id = r.id;
    if (r.id != expected_id) {
      report.problems.push_back("row " + std::to_string(r.id) + ": expected row " +
                                std::to_string(expected_id) + " here (rows " +
                                std::to_string(expected_id) + ".." + std::to_string(r.id - 1) +
                                " deleted)");
    }
    if (r.prev_hash != expected_prev) {
      report.problems.push_back("row " + std::to_string(r.id) +
                                ": prev_hash does not match the row before it (a row before it "
                                "was edited or deleted)");
    }
    const std::string actual = AuditRowHash(r);
    if (actual != r.hash) {
      report.problems.push_back("row " + std::to_string(r.id) +
                                ": hash does not match its contents (the row was edited)");
    }
    // Continue from the stored hash, so one edit is reported once.
    expected_prev = r.hash;
    expected_id = r.id + 1;
    return report.problems.size() < 1000;
  });
  if (!s.ok()) return s;
  report.head_hash = expected_prev;
  return report;
}

Result<AuditVerifyReport> VerifyAuditLog(const std::string& db_path) {
  auto db = OpenReadOnly(db_path);
  if (!db.ok()) return db.status();
  sqlite3* h = db->get();
  int64_t purged_through = 0;
  std::string anchor_hash;
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(h,
                           "SELECT purged_through, hash FROM audit_anchor ORDER BY id DESC LIMIT 1",
                           -1, &raw, nullptr) != SQLITE_OK) {
      return Status::Unavailable(std::string("this store has no audit chain (schema too old?): ") +
                                 sqlite3_errmsg(h));
    }
    StmtPtr st(raw);
    if (sqlite3_step(raw) == SQLITE_ROW) {
      purged_through = sqlite3_column_int64(raw, 0);
      anchor_hash = Column(raw, 1);
    }
  }
  return VerifyAuditChain(purged_through, anchor_hash,
                          [&](const std::function<bool(const AuditRow&)>& fn) {
                            return ForEachRow(h, "", {}, fn);
                          });
}

std::string AuditRowJson(const AuditRow& r) {
  boost::json::object o;
  o["id"] = r.id;
  for (const auto& [name, field] : kTextColumns) o[name] = r.*field;
  return boost::json::serialize(o);
}

Result<int64_t> ExportAuditLog(const std::string& db_path, const std::string& from,
                               const std::string& to, std::ostream& out) {
  auto db = OpenReadOnly(db_path);
  if (!db.ok()) return db.status();
  std::string where;
  std::vector<std::string> args;
  if (!from.empty()) {
    args.push_back(from);
    where += "WHERE julianday(at) >= julianday(?" + std::to_string(args.size()) + ")";
  }
  if (!to.empty()) {
    args.push_back(to);
    where += (where.empty() ? "WHERE" : " AND") + std::string(" julianday(at) < julianday(?") +
             std::to_string(args.size()) + ")";
  }
  int64_t n = 0;
  Status s = ForEachRow(db->get(), where, args, [&](const AuditRow& r) {
    out << AuditRowJson(r) << '\n';
    ++n;
    return static_cast<bool>(out);
  });
  if (!s.ok()) return s;
  if (!out) return Status::Unavailable("writing the export failed");
  return n;
}

}  // namespace bw
