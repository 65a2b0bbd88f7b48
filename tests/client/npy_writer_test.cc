#include "client/npy_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/common/temp_path.h"

namespace lion::client {
namespace {

TEST(NpyWriterTest, VectorMatchesNumpyBytes) {
  const float data[] = {1.0f, 2.0f, 3.0f};
  const int64_t shape[] = {3};
  const std::string npy = EncodeNpy(data, shape);
  // numpy.save(np.array([1, 2, 3], dtype='<f4')) writes 140 bytes: a 128-byte
  // preamble (magic, version, length 118 = 0x76, padded dict) and the data.
  ASSERT_EQ(npy.size(), 140u);
  EXPECT_EQ(npy.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  EXPECT_EQ(npy.substr(10, dict.size()), dict);
  EXPECT_EQ(npy[127], '\n');
  EXPECT_EQ(std::memcmp(npy.data() + 128, data, sizeof(data)), 0);
}

TEST(NpyWriterTest, MatrixShapeAndAlignment) {
  const float data[6] = {0, 1, 2, 3, 4, 5};
  const int64_t shape[] = {2, 3};
  const std::string npy = EncodeNpy(data, shape);
  EXPECT_NE(npy.find("'shape': (2, 3), }"), std::string::npos);
  EXPECT_EQ((npy.size() - sizeof(data)) % 64, 0u);
}

TEST(NpyWriterTest, WriteChecksShapeAndWrites) {
  const float data[] = {1.5f, -2.5f};
  const int64_t bad[] = {3};
  const std::string path = testing_util::UniqueTempPath("v.npy");
  EXPECT_TRUE(absl::IsInvalidArgument(WriteNpy(path, data, bad)));
  const int64_t good[] = {2};
  ASSERT_TRUE(WriteNpy(path, data, good).ok());
  std::ifstream in(path, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), EncodeNpy(data, good));
  EXPECT_FALSE(WriteNpy("/nonexistent-dir/v.npy", data, good).ok());
}

}  // namespace
}  // namespace lion::client
