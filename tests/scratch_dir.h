// A directory of a test's own for its files: emptied when made, removed with everything in it
// when destroyed.  Named after the running test and the process, so tests run at once (ctest -j)
// never share one.  Declare it before the members that keep files open in it, so that it is
// destroyed after them.
//
// Header-only, for tests; one test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace bw::test {

class ScratchDir {
 public:
  // `prefix` names the test file, e.g. "bw-stages".
  explicit ScratchDir(std::string_view prefix)
      : path_(std::filesystem::temp_directory_path() /
              (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside it.
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace bw::test
