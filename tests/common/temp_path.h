#ifndef LION_TESTS_COMMON_TEMP_PATH_H_
#define LION_TESTS_COMMON_TEMP_PATH_H_

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace lion::testing_util {

// A path inside a directory that belongs to this test process alone.
// ctest runs every test case as its own process, two at a time, so a fixed name
// ("/tmp/vocab.txt") is a race: one process truncates the file the other is
// reading. The directory is named after the pid and removed when the process
// exits normally, so test runs leave nothing behind.
inline std::string UniqueTempPath(const std::string& name) {
  struct ProcessDir {
    std::filesystem::path path = std::filesystem::path(::testing::TempDir()) /
                                 ("lion_test_" + std::to_string(::getpid()));
    ProcessDir() { std::filesystem::create_directories(path); }
    ~ProcessDir() {
      std::error_code ignored;  // Best effort: never throw from a static destructor.
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ProcessDir dir;
  return (dir.path / name).string();
}

}  // namespace lion::testing_util

#endif  // LION_TESTS_COMMON_TEMP_PATH_H_
