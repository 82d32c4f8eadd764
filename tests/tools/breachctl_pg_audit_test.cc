// `breachctl audit verify|export` on the PostgreSQL backend (tools/breachctl.cc): given the
// daemon's config with `[store] backend = "postgresql"`, verify walks the chain in the database
// (daemon/audit_chain.h VerifyAuditChain, as for SQLite) and names a row edited behind the
// triggers' back; export writes the rows as the SQLite export does.  Runs the real breachctl on
// a database of the throw-away cluster (CTest fixture pg_cluster, tests/store/store_backends.h).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "daemon/audit_chain.h"
#include "daemon/pg_store.h"
#include "handlers/base/time_util.h"
#include "tests/store/store_backends.h"

namespace bw::testing {
namespace {

std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

class BreachctlPgAudit : public PgDatabaseTest {
 protected:
  void SetUp() override {
    PgDatabaseTest::SetUp();
    if (NoDatabase()) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("bw-ctl-pg-" + std::to_string(getpid()) + "-" + TestTag());
    std::filesystem::create_directories(dir_);
    // The daemon's own config, as an operator would pass it.
    Config c;
    c.store_backend = "postgresql";
    c.store_postgresql_conninfo = db_->conninfo();
    c.zones = {{.file = std::string(BREACHWATCH_SOURCE_DIR) +
                        "/config/zones/london_lad22_bgc_wgs84.geojson",
                .code_property = "LAD22CD",
                .name_property = "LAD22NM",
                .skip_invalid = false}};
    config_ = (dir_ / "breachwatch.toml").string();
    std::ofstream(config_) << RenderConfig(c) << "\n";
    // Audited work: consultations written through the store, as the daemon writes them.
    auto store = PgStore::Open(db_->conninfo());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const TimePoint t0 = *ParseRfc3339("2026-03-01T10:00:00Z");
    for (int i = 0; i < 6; ++i) {
      AuditRecord a;
      a.at = t0 + std::chrono::hours(i);
      a.category = "consultation";
      a.actor = "MP-PC5555";
      a.op = "conditions.person";
      a.subjects = "PNC-80/111111A";
      a.reason = "check " + std::to_string(i);
      a.outcome = "ok";
      ASSERT_TRUE((*store)->InsertAudit(a).ok());
    }
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Ctl(const std::string& args) const {
    return std::string(BREACHCTL_PATH) + " --config " + config_ + " audit " + args;
  }
  std::filesystem::path dir_;
  std::string config_;
};

TEST_F(BreachctlPgAudit, VerifyFindsTheChainIntactThenNamesARowEditedBehindTheTriggers) {
  auto [ok_rc, ok_out] = Shell(Ctl("verify"));
  EXPECT_EQ(ok_rc, 0) << ok_out;
  EXPECT_NE(ok_out.find("audit log intact: 6 record(s), ids 1..6"), std::string::npos) << ok_out;

  // Someone with the database's owner role disables the append-only trigger and rewrites why
  // row 3 was looked at.
  auto admin = PgConn::Connect(db_->conninfo());
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->Run("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; "
                        "UPDATE audit_log SET reason = 'routine' WHERE id = 3",
                        "tamper")
                  .ok());
  auto [rc, out] = Shell(Ctl("verify"));
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("BROKEN"), std::string::npos) << out;
  EXPECT_NE(out.find("row 3: hash does not match"), std::string::npos) << out;
}

TEST_F(BreachctlPgAudit, ExportWritesEveryRowAsTheStoreHoldsItAndHonoursTheTimeWindow) {
  const std::string file = (dir_ / "export.jsonl").string();
  auto [rc, out] = Shell(Ctl("export -o " + file));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("exported 6 audit record(s)"), std::string::npos) << out;
  std::vector<std::string> expected;
  Status s = ForEachPostgresAuditRow(db_->conninfo(), [&](const AuditRow& r) {
    expected.push_back(AuditRowJson(r));
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_EQ(lines, expected);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_NE(lines[2].find("\"reason\":\"check 2\""), std::string::npos) << lines[2];

  // Hours 2 and 3 only.
  auto [w_rc, w_out] = Shell(Ctl("export --from 2026-03-01T12:00:00Z --to 2026-03-01T14:00:00Z"));
  ASSERT_EQ(w_rc, 0) << w_out;
  EXPECT_NE(w_out.find("exported 2 audit record(s)"), std::string::npos) << w_out;
  EXPECT_NE(w_out.find("\"reason\":\"check 2\""), std::string::npos) << w_out;
  EXPECT_NE(w_out.find("\"reason\":\"check 3\""), std::string::npos) << w_out;
  EXPECT_EQ(w_out.find("\"reason\":\"check 4\""), std::string::npos) << w_out;
}

}  // namespace
}  // namespace bw::testing
