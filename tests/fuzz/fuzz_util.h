// Shared by the fuzz targets: where the repository is, and a check that
// aborts (so that libFuzzer, or the replay driver, reports the input).
#ifndef LION_TESTS_FUZZ_FUZZ_UTIL_H_
#define LION_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"

namespace lion::fuzz {

// LION_SOURCE_DIR, else the source tree this binary was built from.
inline std::string SourceDir() {
  const char* root = std::getenv("LION_SOURCE_DIR");
  return root != nullptr ? root : LION_SOURCE_DIR_DEFAULT;
}

[[noreturn]] inline void Fail(const char* file, int line, const char* what,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s %s\n", file, line, what, detail.c_str());
  std::abort();
}

// Initialisation that cannot fail in a working checkout (the default models).
inline void CheckSetup(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "fuzz target setup failed: %s: %s\n", what, status.ToString().c_str());
    std::exit(2);
  }
}

}  // namespace lion::fuzz

// FUZZ_CHECK(condition, detail): abort with `detail` (a std::string) when false.
#define FUZZ_CHECK(condition, detail)                                               \
  do {                                                                              \
    if (!(condition)) ::lion::fuzz::Fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (0)

#endif  // LION_TESTS_FUZZ_FUZZ_UTIL_H_
