// The domain library must stay free of I/O: no asio, zmq or sqlite headers in handlers/.
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
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cc") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      EXPECT_FALSE(std::regex_search(line, forbidden))
          << entry.path().filename() << ":" << n << ": " << line;
    }
  }
  EXPECT_GT(files, 5);
}
