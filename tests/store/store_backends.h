// The store backends the store tests run against: SQLite (a file in a temporary directory) and
// PostgreSQL (a fresh database in the throw-away cluster of scripts/pg-test-cluster.sh, whose
// socket directory BW_PG_TEST_HOST names; the CTest fixture `pg_cluster` starts it and sets it).
// Without BW_PG_TEST_HOST the PostgreSQL cases skip, except when CI=true: there they fail.
// By hand: `scripts/pg-test-cluster.sh start /tmp/bw-pg && BW_PG_TEST_HOST=/tmp/bw-pg store_tests`.
//
// Thread-safety: test code, one thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/audit_chain.h"
#include "daemon/pg_conn.h"
#include "daemon/pg_store.h"
#include "daemon/store.h"

namespace bw::testing {

// The admin conninfo of the test cluster, or "" when there is none.
inline std::string PgAdminConninfo() {
  const char* host = std::getenv("BW_PG_TEST_HOST");
  if (host == nullptr || *host == '\0') return "";
  return std::string("host=") + host + " port=5432 user=postgres dbname=postgres";
}

inline bool RunningInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A database of its own in the test cluster, dropped at destruction.
class PgTestDatabase {
 public:
  // "" conninfo() when the cluster is missing (see `why`).
  explicit PgTestDatabase(const std::string& tag) {
    const std::string admin = PgAdminConninfo();
    if (admin.empty()) {
      why_ = "BW_PG_TEST_HOST is not set (run through ctest: fixture pg_cluster)";
      return;
    }
    static int counter = 0;
    name_ = "bw_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    for (char& c : name_) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    for (char& c : name_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto conn = PgConn::Connect(admin);
    if (!conn.ok()) {
      why_ = conn.status().ToString();
      return;
    }
    Status s = (*conn)->Run("CREATE DATABASE " + name_, "create test database");
    if (!s.ok()) {
      why_ = s.ToString();
      return;
    }
    conninfo_ = admin + " dbname=" + name_;  // the last dbname wins
  }
  ~PgTestDatabase() {
    if (conninfo_.empty()) return;
    auto conn = PgConn::Connect(PgAdminConninfo());
    if (conn.ok()) {
      (*conn)->Run("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", "drop test database").ok();
    }
  }
  const std::string& conninfo() const { return conninfo_; }
  const std::string& why() const { return why_; }

 private:
  std::string name_;
  std::string conninfo_;
  std::string why_;
};

// One backend under test: opens stores on the same data, and reads it as an administrator would.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // Opens (again) a store on this backend's data.
  virtual Result<std::unique_ptr<Store>> Open() = 0;
  virtual std::vector<AuditRow> ReadAudit() = 0;
  virtual Result<AuditVerifyReport> Verify() = 0;
  // Runs `sql` directly on the data, bypassing the daemon (someone with a shell on the host).
  virtual Status RawSql(const std::string& sql) = 0;
};

class SqliteBackend final : public StoreBackend {
 public:
  explicit SqliteBackend(const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() /
           ("bw-store-" + std::to_string(getpid()) + "-" + tag);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.db").string();
  }
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }
  Result<std::unique_ptr<Store>> Open() override { return OpenSqliteStore(path_); }
  std::vector<AuditRow> ReadAudit() override {
    std::vector<AuditRow> rows;
    Status s = ForEachAuditRow(path_, [&](const AuditRow& r) {
      rows.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }
  Result<AuditVerifyReport> Verify() override { return VerifyAuditLog(path_); }
  Status RawSql(const std::string& sql) override {
    const std::string command = "sqlite3 " + path_ + " \"" + sql + "\" >/dev/null 2>&1";
    int rc = std::system(command.c_str());
    return rc == 0 ? Status::Ok() : Status::IoError("sqlite3 exited with " + std::to_string(rc));
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

class PostgresBackend final : public StoreBackend {
 public:
  explicit PostgresBackend(const std::string& tag) : db_(tag) {}
  const PgTestDatabase& db() const { return db_; }
  Result<std::unique_ptr<Store>> Open() override { return OpenPostgresStore(db_.conninfo()); }
  std::vector<AuditRow> ReadAudit() override {
    std::vector<AuditRow> rows;
    Status s = ForEachPostgresAuditRow(db_.conninfo(), [&](const AuditRow& r) {
      rows.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }
  Result<AuditVerifyReport> Verify() override { return VerifyPostgresAuditLog(db_.conninfo()); }
  Status RawSql(const std::string& sql) override {
    auto conn = PgConn::Connect(db_.conninfo());
    if (!conn.ok()) return conn.status();
    return (*conn)->Run(sql, "raw sql");
  }

 private:
  PgTestDatabase db_;
};

// The test's name, usable in file and database names.
inline std::string TestTag() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string tag = std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return tag.substr(0, 40);
}

// A test on a database of its own in the test cluster: SetUp() makes it (`db_`) and skips the test
// when there is no cluster, or fails it in CI.  A fixture's own SetUp() calls this one first and
// returns when NoDatabase().
class PgDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<PgTestDatabase>(TestTag());
    if (db_->conninfo().empty()) {
      if (RunningInCi()) FAIL() << "PostgreSQL test cluster missing in CI: " << db_->why();
      GTEST_SKIP() << "no PostgreSQL test cluster: " << db_->why();
    }
  }
  static bool NoDatabase() { return IsSkipped() || HasFatalFailure(); }

  std::unique_ptr<PgTestDatabase> db_;
};

// A fixture parameterised by backend name ("sqlite" | "postgresql"): SetUp makes the backend and
// opens `store_`; a missing PostgreSQL cluster skips (fails in CI).
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      auto pg = std::make_unique<PostgresBackend>(TestTag());
      if (pg->db().conninfo().empty()) {
        if (RunningInCi()) FAIL() << "PostgreSQL test cluster missing in CI: " << pg->db().why();
        GTEST_SKIP() << "no PostgreSQL test cluster: " << pg->db().why();
      }
      backend_ = std::move(pg);
    } else {
      backend_ = std::make_unique<SqliteBackend>(TestTag());
    }
    auto s = backend_->Open();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace bw::testing
