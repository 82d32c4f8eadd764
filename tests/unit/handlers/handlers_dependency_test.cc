// The domain library must stay free of I/O: no asio, zmq, sqlite, spdlog or systemd headers
// anywhere under handlers/ (every subfolder).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

TEST(HandlersDependencyRule, NoIoHeadersInDomainLibrary) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(BREACHWATCH_SOURCE_DIR) / "handlers";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  const std::regex forbidden(R"(#\s*include\s*[<"](boost/asio|asio|zmq|sqlite3|spdlog|systemd))");
  int files = 0;
  int subfolder_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cc") continue;
    ++files;
    if (entry.path().parent_path() != dir) ++subfolder_files;
    std::ifstream in(entry.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      EXPECT_FALSE(std::regex_search(line, forbidden))
          << fs::relative(entry.path(), dir).string() << ":" << n << ": " << line;
    }
  }
  EXPECT_GT(files, 5);
  // The scan must reach into the subfolders, where all the sources live.
  EXPECT_GT(subfolder_files, 5);
}
