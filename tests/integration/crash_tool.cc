// bw-crashtest: plays a stream of events through the real breachwatchd and kills
// it with SIGKILL at random moments, restarting it each time; the daemon
// recovers what it missed from the feeds' replay endpoints.  At the end it
// checks, against a run of the same events without kills, that every event is
// stored exactly once, every alert exists exactly once (ids unique, seq
// gap-free), every alert that should have been raised was raised, and that
// SQLite's integrity_check is ok.
//
//   bw-crashtest --events 100000 --kills 50          (full mode)
//   bw-crashtest --events 3000 --kills 5             (short mode, run by ctest)
// Exit status 0 when every check passes.
#include <sqlite3.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "handlers/base/time_util.h"
#include "tests/integration/bail_walk.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace bw::testing {
namespace {

using std::chrono::milliseconds;

using Event = FeedEvent;

struct Checked {
  int64_t handled = 0, distinct_handled = 0, alerts = 0, distinct_alert_ids = 0, max_seq = 0;
  std::string integrity;
  std::multiset<std::string> signatures;  // alerts caused by events
};

Checked Inspect(const std::string& db_path) {
  Checked c;
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto scalar = [&](const char* sql) -> std::string {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  };
  c.handled = std::stoll(
      scalar("SELECT COUNT(*) FROM inbound WHERE result='handled' AND channel != 'tick'"));
  c.distinct_handled = std::stoll(scalar(
      "SELECT COUNT(*) FROM (SELECT DISTINCT source, msg_id FROM inbound WHERE result='handled' "
      "AND channel != 'tick')"));
  c.alerts = std::stoll(scalar("SELECT COUNT(*) FROM alerts"));
  c.distinct_alert_ids = std::stoll(scalar("SELECT COUNT(DISTINCT alert_id) FROM alerts"));
  c.max_seq = std::stoll(scalar("SELECT COALESCE(MAX(seq), 0) FROM alerts"));
  c.integrity = scalar("PRAGMA integrity_check");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT payload FROM alerts ORDER BY seq", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto a =
        boost::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))).as_object();
    if (!a.contains("caused_by")) continue;  // feed-health alerts depend on timing
    std::vector<std::string> recipients;
    for (const auto& r : a.at("recipients").as_array()) recipients.emplace_back(r.as_string());
    std::sort(recipients.begin(), recipients.end());
    std::string sig =
        std::string(a.at("kind").as_string()) + "|" +
        std::string(a.at("caused_by").at("id").as_string()) + "|" +
        (a.contains("condition_id") ? std::string(a.at("condition_id").as_string()) : "");
    for (const auto& r : recipients) sig += "|" + r;
    c.signatures.insert(sig);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return c;
}

struct RunResult {
  bool completed = false;
  int kills = 0;
  Checked checked;
  double seconds = 0;
};

RunResult Run(const std::vector<Event>& events, int kills, uint64_t seed, bool verbose) {
  RunResult result;
  const auto started = std::chrono::steady_clock::now();
  DaemonProcess d(Transport::kIpc, {"orders", "tag"});
  ReplayServer orders(d.context(), d.EnableReplay("orders"));
  ReplayServer tag(d.context(), d.EnableReplay("tag"));
  d.config().log_level = "warn";
  if (!d.Start()) {
    std::cerr << "daemon did not start:\n" << d.log();
    return result;
  }
  std::mt19937_64 rng(seed);
  // Kill points: event indexes, sorted.
  std::set<size_t> kill_at;
  while (static_cast<int>(kill_at.size()) < kills) {
    kill_at.insert(std::uniform_int_distribution<size_t>(1, events.size() - 1)(rng));
  }
  bool down = false;
  size_t down_until = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    (e.feed == "orders" ? orders : tag).Store(e.seq, e.json);
    if (!down && !kill_at.empty() && *kill_at.begin() <= i) {
      kill_at.erase(kill_at.begin());
      // A random moment: maybe mid-batch, maybe idle.
      std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 30)(rng)));
      d.Kill9();
      ++result.kills;
      down = true;
      down_until = i + std::uniform_int_distribution<size_t>(0, 200)(rng);
      if (verbose) std::cerr << "kill " << result.kills << " at event " << i << "\n";
    }
    if (down && i >= down_until) {
      if (!d.Start()) {
        std::cerr << "daemon did not restart:\n" << d.log();
        return result;
      }
      down = false;
    }
    if (!down) d.Publish(e.feed, e.json);  // while down, only the replay endpoint has it
  }
  if (down && !d.Start()) return result;
  const int64_t total = static_cast<int64_t>(events.size());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  int64_t handled = 0;
  while (std::chrono::steady_clock::now() < deadline && (handled = Handled(d)) != total) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  if (handled != total) {
    std::cerr << "only " << handled << " of " << total << " events handled\n" << d.log();
    return result;
  }
  d.Stop();
  result.completed = true;
  result.checked = Inspect(d.dir() + "/breachwatch.db");
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace
}  // namespace bw::testing

int main(int argc, char** argv) {
  CLI::App app{"bw-crashtest - kill -9 breachwatchd at random moments and check nothing is lost"};
  int events = 100000, kills = 50, persons = 40;
  uint64_t seed = 20161008;
  std::string report;
  bool verbose = false;
  app.add_option("--events", events, "tag.position events to play")->capture_default_str();
  app.add_option("--kills", kills, "SIGKILLs during the run")->capture_default_str();
  app.add_option("--persons", persons, "people under an instrument")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--report", report, "write a Markdown summary here");
  app.add_flag("-v,--verbose", verbose);
  CLI11_PARSE(app, argc, argv);

  using namespace bw::testing;
  auto stream = GenerateBailWalk(persons, events, seed, "BAIL/CT/");
  std::cerr << "bw-crashtest: " << stream.size() << " messages, " << kills << " kills\n";
  RunResult clean = Run(stream, 0, seed, verbose);
  RunResult killed = Run(stream, kills, seed + 1, verbose);
  const int64_t total = static_cast<int64_t>(stream.size());
  struct Check {
    std::string what;
    bool ok;
  };
  std::vector<Check> checks = {
      {"run without kills completed", clean.completed},
      {"run with kills completed", killed.completed},
      {"kills survived == requested", killed.kills == kills},
      {"every event stored exactly once",
       killed.checked.handled == total && killed.checked.distinct_handled == total},
      {"alert ids unique", killed.checked.alerts == killed.checked.distinct_alert_ids},
      {"alert seq gap-free", killed.checked.max_seq == killed.checked.alerts},
      {"same alerts as the run without kills",
       killed.checked.signatures == clean.checked.signatures},
      {"integrity_check ok", killed.checked.integrity == "ok" && clean.checked.integrity == "ok"},
  };
  std::vector<std::string> missing, extra;
  std::set_difference(clean.checked.signatures.begin(), clean.checked.signatures.end(),
                      killed.checked.signatures.begin(), killed.checked.signatures.end(),
                      std::back_inserter(missing));
  std::set_difference(killed.checked.signatures.begin(), killed.checked.signatures.end(),
                      clean.checked.signatures.begin(), clean.checked.signatures.end(),
                      std::back_inserter(extra));
  int failed = 0;
  std::ostringstream md;
  md << "| check | result |\n|---|---|\n";
  for (const auto& c : checks) {
    std::cout << (c.ok ? "PASS " : "FAIL ") << c.what << "\n";
    md << "| " << c.what << " | " << (c.ok ? "pass" : "**FAIL**") << " |\n";
    failed += !c.ok;
  }
  md << "\n| figure | without kills | with kills |\n|---|---|---|\n"
     << "| messages | " << total << " | " << total << " |\n"
     << "| kills survived | 0 | " << killed.kills << " |\n"
     << "| events stored (distinct) | " << clean.checked.distinct_handled << " | "
     << killed.checked.distinct_handled << " |\n"
     << "| alerts | " << clean.checked.alerts << " | " << killed.checked.alerts << " |\n"
     << "| event-caused alerts | " << clean.checked.signatures.size() << " | "
     << killed.checked.signatures.size() << " |\n"
     << "| alerts missing / extra vs. no kills | | " << missing.size() << " / " << extra.size()
     << " |\n"
     << "| integrity_check | " << clean.checked.integrity << " | " << killed.checked.integrity
     << " |\n"
     << "| wall time (s) | " << clean.seconds << " | " << killed.seconds << " |\n";
  for (size_t i = 0; i < missing.size() && i < 5; ++i)
    std::cout << "missing: " << missing[i] << "\n";
  for (size_t i = 0; i < extra.size() && i < 5; ++i) std::cout << "extra: " << extra[i] << "\n";
  std::cout << md.str();
  if (!report.empty()) std::ofstream(report) << md.str();
  std::cout << (checks.size() - failed) << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
