// Writers of safetensors files for the tests: the format is written byte by
// byte here (8-byte little-endian header length, JSON header, data), so the
// tests control every field, valid or not.
#ifndef LION_TESTS_MODEL_SAFETENSORS_TEST_UTIL_H_
#define LION_TESTS_MODEL_SAFETENSORS_TEST_UTIL_H_


#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/temp_path.h"

namespace lion::model::testing {

// Paths handed out by TempPath; the files are removed when the test program exits.
class TempFiles {
 public:
  ~TempFiles() {
    for (const std::string& path : paths_) std::filesystem::remove(path);
  }
  std::string Add(std::string path) {
    paths_.push_back(path);
    return path;
  }

 private:
  std::vector<std::string> paths_;
};

// A fresh path under the test temp dir.
inline std::string TempPath(const std::string& stem) {
  static TempFiles files;
  static int counter = 0;
  return files.Add(testing_util::UniqueTempPath(
      "st_" + std::to_string(counter++) + "_" + stem + ".safetensors"));
}

inline std::string WriteFile(const std::string& stem, const std::string& bytes) {
  const std::string path = TempPath(stem);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// 8-byte little-endian length + header + data.
inline std::string Encode(const std::string& header, const std::string& data,
                          uint64_t header_length_override = UINT64_MAX) {
  const uint64_t n = header_length_override == UINT64_MAX ? header.size() : header_length_override;
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

inline std::string F32Bytes(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

inline std::string U16Bytes(const std::vector<uint16_t>& values) {
  std::string out(values.size() * sizeof(uint16_t), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace lion::model::testing

#endif  // LION_TESTS_MODEL_SAFETENSORS_TEST_UTIL_H_
