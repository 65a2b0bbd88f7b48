// Random damage to valid PNG and JPEG files: every result must be either a
// correctly sized image or INVALID_ARGUMENT, never a crash or another code.
#include <cstdio>
#include <random>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "server/image/preprocess.h"
#include "tests/image/test_images.h"

namespace lion::image {
namespace {

constexpr int kIterations = 2000;

// A 24x20 gradient, so the entropy-coded data is not trivial.
std::vector<uint8_t> Gradient() {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 24; ++x) {
      rgb.insert(rgb.end(), {static_cast<uint8_t>(x * 10), static_cast<uint8_t>(y * 12),
                             static_cast<uint8_t>((x * y) & 0xff)});
    }
  }
  return rgb;
}

// Flips 1-4 random bytes and, one time in four, truncates; `after` may
// repair the damage partially (PNG CRCs) so it reaches deeper code.
void Fuzz(const std::string& valid, const char* name, std::string (*after)(std::string) = nullptr) {
  ImageOptions options;
  options.height = 16;
  options.width = 16;
  options.max_pixels = 1 << 20;
  std::mt19937 rng(12345);
  int decoded = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string damaged = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    if (rng() % 4 == 0) damaged.resize(rng() % damaged.size());
    if (after != nullptr) damaged = after(std::move(damaged));
    absl::StatusOr<std::vector<float>> out = DecodeAndPreprocess(damaged, options);
    if (out.ok()) {
      ++decoded;
      ASSERT_EQ(out->size(), 3u * 16 * 16) << name << " iteration " << i;
    } else {
      ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
          << name << " iteration " << i << ": " << out.status();
    }
  }
  std::printf("%s: %d of %d damaged files still decoded\n", name, decoded, kIterations);
}

TEST(ImageFuzzTest, DamagedPngNeverCrashes) {
  Fuzz(testing::MakeRgbPng(24, 20, Gradient()), "PNG");
}

TEST(ImageFuzzTest, DamagedPngWithValidCrcsNeverCrashes) {
  Fuzz(testing::MakeRgbPng(24, 20, Gradient()), "PNG (CRCs fixed)", testing::FixPngCrcs);
}

TEST(ImageFuzzTest, DamagedJpegNeverCrashes) {
  Fuzz(testing::MakeJpeg(24, 20, 3, Gradient(), 90), "JPEG");
}

}  // namespace
}  // namespace lion::image
