// Decoding and preprocessing: pixel values of known images in every PNG
// variant and JPEG, the resize method, option and tensor validation, and
// every kind of hostile input.
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/image/decode.h"
#include "server/image/preprocess.h"
#include "server/image/resize.h"
#include "tests/image/test_images.h"

namespace lion::image {
namespace {

using ::lion::image::testing::kPngGray;
using ::lion::image::testing::kPngGrayAlpha;
using ::lion::image::testing::kPngPalette;
using ::lion::image::testing::kPngRgb;
using ::lion::image::testing::kPngRgba;
using ::lion::image::testing::MakeJpeg;
using ::lion::image::testing::MakePng;
using ::lion::image::testing::MakeRgbPng;
using ::lion::image::testing::PngChunk;
using ::lion::image::testing::SolidRgb;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

ImageOptions Options(int64_t channels, int64_t height, int64_t width) {
  ImageOptions options;
  options.channels = channels;
  options.height = height;
  options.width = width;
  options.mean.assign(channels, 0.0f);
  options.std.assign(channels, 1.0f);
  return options;
}

// Runs DecodeAndPreprocess and returns the [0, 1]-scaled pixels (mean 0, std 1).
std::vector<float> Pixels(const std::string& encoded, int64_t channels, int64_t h, int64_t w) {
  absl::StatusOr<std::vector<float>> out = DecodeAndPreprocess(encoded, Options(channels, h, w));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<float>();
}

void ExpectInvalid(const std::string& encoded, const ImageOptions& options,
                   const std::string& message_part) {
  absl::StatusOr<std::vector<float>> out = DecodeAndPreprocess(encoded, options);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  EXPECT_THAT(std::string(out.status().message()), HasSubstr(message_part));
}

constexpr float k255 = 1.0f / 255.0f;

TEST(ImageTest, PngRgbIsNormalisedPerChannelInChwOrder) {
  // 2x1 image: red-ish, then blue-ish.
  const std::string png = MakeRgbPng(2, 1, {255, 0, 128, 0, 51, 255});
  ImageOptions options = Options(3, 1, 2);
  options.mean = {0.5f, 0.25f, 0.0f};
  options.std = {0.5f, 0.25f, 2.0f};
  absl::StatusOr<std::vector<float>> out = DecodeAndPreprocess(png, options);
  ASSERT_TRUE(out.ok()) << out.status();
  // CHW: R plane, G plane, B plane; (v / 255 - mean) / std.
  EXPECT_THAT(*out,
              Pointwise(FloatNear(1e-6), std::vector<float>{1.0f, -1.0f,                    // R
                                                            -1.0f, (0.2f - 0.25f) / 0.25f,  // G
                                                            128 * k255 / 2.0f, 0.5f}));     // B
}

TEST(ImageTest, PngGrayscaleIsReplicatedToRgb) {
  const std::string png = MakePng(2, 1, 8, kPngGray, {std::string("\x33\xff", 2)});
  EXPECT_THAT(Pixels(png, 3, 1, 2),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.2f, 1, 0.2f, 1, 0.2f, 1}));
}

TEST(ImageTest, PngPaletteIsExpanded) {
  const std::string palette = PngChunk("PLTE", std::string("\x0a\x14\x1e\xff\x00\x80", 6));
  const std::string png = MakePng(2, 1, 8, kPngPalette, {std::string("\x01\x00", 2)}, palette);
  EXPECT_THAT(Pixels(png, 3, 1, 2),
              Pointwise(FloatNear(1e-6),
                        std::vector<float>{1, 10 * k255, 0, 20 * k255, 128 * k255, 30 * k255}));
}

TEST(ImageTest, PngAlphaIsDroppedNotComposited) {
  const std::string png =
      MakePng(2, 1, 8, kPngRgba, {std::string("\x0a\x14\x1e\x00\xc8\x64\x32\x80", 8)});
  EXPECT_THAT(Pixels(png, 3, 1, 2),
              Pointwise(FloatNear(1e-6), std::vector<float>{10 * k255, 200 * k255, 20 * k255,
                                                            100 * k255, 30 * k255, 50 * k255}));
  const std::string gray_alpha = MakePng(1, 1, 8, kPngGrayAlpha, {std::string("\x66\x10", 2)});
  EXPECT_THAT(Pixels(gray_alpha, 1, 1, 1), Pointwise(FloatNear(1e-6), std::vector<float>{0.4f}));
}

TEST(ImageTest, Png16BitIsReducedTo8Bit) {
  const std::string row("\xff\xff\x00\x00\x80\x80", 6);  // one pixel, big-endian samples
  const std::string png = MakePng(1, 1, 16, kPngRgb, {row});
  EXPECT_THAT(Pixels(png, 3, 1, 1),
              Pointwise(FloatNear(1e-6), std::vector<float>{1.0f, 0.0f, 128 * k255}));
}

TEST(ImageTest, GrayscaleTargetUsesLuminance) {
  const std::string png = MakeRgbPng(3, 1, {255, 0, 0, 0, 255, 0, 0, 0, 255});
  EXPECT_THAT(Pixels(png, 1, 1, 3),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.299f, 0.587f, 0.114f}));
}

TEST(ImageTest, JpegSolidColorDecodes) {
  const std::string jpeg = MakeJpeg(16, 16, 3, SolidRgb(16, 16, 200, 100, 50));
  std::vector<float> out = Pixels(jpeg, 3, 8, 8);
  ASSERT_EQ(out.size(), 3u * 64);
  for (int i = 0; i < 64; ++i) {
    EXPECT_NEAR(out[i], 200 * k255, 2 * k255);
    EXPECT_NEAR(out[64 + i], 100 * k255, 2 * k255);
    EXPECT_NEAR(out[128 + i], 50 * k255, 2 * k255);
  }
}

TEST(ImageTest, JpegGrayscaleIsReplicatedToRgb) {
  const std::string jpeg = MakeJpeg(8, 8, 1, std::vector<uint8_t>(64, 90));
  std::vector<float> out = Pixels(jpeg, 3, 8, 8);
  ASSERT_EQ(out.size(), 3u * 64);
  for (float v : out) EXPECT_NEAR(v, 90 * k255, 1 * k255);
}

TEST(ImageTest, ResizeUpsamplesWithHalfPixelCentres) {
  // Matches torch.nn.functional.interpolate(mode="bilinear", align_corners=False).
  EXPECT_THAT(ResizeBilinear({0.0f, 1.0f}, 1, 1, 2, 1, 4),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f}));
  EXPECT_THAT(ResizeBilinear({0.0f, 1.0f}, 1, 2, 1, 4, 1),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f}));
}

TEST(ImageTest, ResizeHandlesNonIntegerRatios) {
  // Scale 3/2: sources 0.25 and 1.75 (torch gives [0.25, 1.75] too).
  EXPECT_THAT(ResizeBilinear({0.0f, 1.0f, 2.0f}, 1, 1, 3, 1, 2),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.25f, 1.75f}));
}

TEST(ImageTest, ResizeDownsamplesByTwoToBlockMeans) {
  // 4x4 -> 2x2: every output samples the centre of a 2x2 block.
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[i] = static_cast<float>(i);
  EXPECT_THAT(ResizeBilinear(src, 1, 4, 4, 2, 2),
              Pointwise(FloatNear(1e-5), std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f}));
}

TEST(ImageTest, ResizeKeepsRowsAndColumnsApartInEveryChannel) {
  // 2 channels of 2x4 -> 1x2; channel 1 is channel 0 + 100.
  std::vector<float> src = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int i = 0; i < 8; ++i) src.push_back(src[i] + 100);
  // Row source 0.5 (mean of both rows), columns 0.5 and 2.5.
  EXPECT_THAT(ResizeBilinear(src, 2, 2, 4, 1, 2),
              Pointwise(FloatNear(1e-5), std::vector<float>{2.5f, 4.5f, 102.5f, 104.5f}));
}

// DecodeAndPreprocess resizes straight from the 8-bit pixels; the result must
// be bit for bit that of the full-size [0, 1] float planes resized.
TEST(ImageTest, ResizeFromRgb8EqualsResizeOfFloatPlanes) {
  constexpr int64_t kH = 23, kW = 37;
  std::vector<uint8_t> rgb(kH * kW * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7919 + i / 5) % 256);
  for (int64_t channels : {1, 3}) {
    std::vector<float> planes(channels * kH * kW);
    for (int64_t i = 0; i < kH * kW; ++i) {
      const uint8_t* p = &rgb[i * 3];
      if (channels == 3) {
        for (int64_t c = 0; c < 3; ++c) planes[c * kH * kW + i] = p[c] * k255;
      } else {
        planes[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * k255;
      }
    }
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{
             {kH, kW}, {8, 8}, {224, 224}, {5, 61}, {23, 12}, {1, 1}}) {
      const std::vector<float> want = ResizeBilinear(planes, channels, kH, kW, h, w);
      const std::vector<float> got = ResizeBilinearRgb8(rgb.data(), channels, kH, kW, h, w);
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
          << channels << " channels, " << h << "x" << w;
    }
  }
}

TEST(ImageTest, DecodeResizesAKnownPattern) {
  // 2x2 checkerboard of 0 and 255 upsampled to 4x4 (gray target).
  const std::string png =
      MakePng(2, 2, 8, kPngGray, {std::string("\x00\xff", 2), std::string("\xff\x00", 2)});
  std::vector<float> out = Pixels(png, 1, 4, 4);
  // Row 0 samples source row 0 only; column weights as in the 1-D case.
  ASSERT_EQ(out.size(), 16u);
  EXPECT_THAT(std::vector<float>(out.begin(), out.begin() + 4),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f}));
  // Row 1 samples 0.75 * row 0 + 0.25 * row 1.
  EXPECT_NEAR(out[4], 0.25f, 1e-6);
  EXPECT_NEAR(out[5], 0.75f * 0.25f + 0.25f * 0.75f, 1e-6);
}

TEST(ImageTest, RejectsWrongMagicEmptyAndShortInput) {
  const ImageOptions options = Options(3, 4, 4);
  ExpectInvalid("", options, "unrecognised format");
  ExpectInvalid("GIF89a......", options, "unrecognised format");
  ExpectInvalid(std::string("\x89PNG", 4), options, "unrecognised format");
  ExpectInvalid(std::string("\xff\xd8\xff", 3), options, "invalid JPEG");
  ExpectInvalid(std::string("\x89PNG\r\n\x1a\n", 8), options, "invalid PNG");
}

TEST(ImageTest, RejectsEveryTruncationOfAPngAndAJpeg) {
  const std::string png = MakeRgbPng(8, 8, SolidRgb(8, 8, 1, 2, 3));
  const std::string jpeg = MakeJpeg(8, 8, 3, SolidRgb(8, 8, 1, 2, 3));
  const ImageOptions options = Options(3, 8, 8);
  // Dropping the IEND chunk (last 12 bytes) is harmless to libpng; anything
  // cutting into IDAT or earlier must fail.
  for (size_t n = 0; n + 12 < png.size(); ++n) {
    EXPECT_FALSE(DecodeAndPreprocess(png.substr(0, n), options).ok()) << "PNG cut at " << n;
  }
  // A JPEG must reach its last entropy-coded byte (EOI may be missing: libjpeg
  // then warns, which we treat as an error too).
  for (size_t n = 0; n < jpeg.size(); ++n) {
    EXPECT_FALSE(DecodeAndPreprocess(jpeg.substr(0, n), options).ok()) << "JPEG cut at " << n;
  }
  EXPECT_TRUE(DecodeAndPreprocess(jpeg, options).ok());
}

TEST(ImageTest, RejectsCorruptPngCrcAndJpegData) {
  std::string png = MakeRgbPng(4, 4, SolidRgb(4, 4, 9, 9, 9));
  png[8 + 8 + 13] ^= 0x01;  // IHDR CRC
  ExpectInvalid(png, Options(3, 4, 4), "invalid PNG");

  std::string jpeg = MakeJpeg(16, 16, 3, SolidRgb(16, 16, 10, 200, 30));
  // Overwrite entropy-coded data just before EOI with marker bytes.
  jpeg[jpeg.size() - 4] = '\xff';
  jpeg[jpeg.size() - 3] = '\xd0' + 5;  // an out-of-sequence restart marker
  ExpectInvalid(jpeg, Options(3, 16, 16), "invalid JPEG");
}

TEST(ImageTest, RejectsHugeDimensionsBeforeAllocating) {
  // The header claims 100000 x 100000 (10^10 pixels) over a tiny IDAT.
  const std::string png = MakePng(100000, 100000, 8, kPngRgb, {std::string(3, '\0')});
  ExpectInvalid(png, Options(3, 4, 4), "more than the limit of 40000000 pixels");

  // A JPEG's SOF0 patched to 60000 x 60000.
  std::string jpeg = MakeJpeg(8, 8, 3, SolidRgb(8, 8, 1, 2, 3));
  const size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg.replace(sof + 5, 4, std::string("\xea\x60\xea\x60", 4));  // height, width
  ExpectInvalid(jpeg, Options(3, 4, 4), "60000x60000");
}

TEST(ImageTest, PixelLimitIsConfigurable) {
  const std::string png = MakeRgbPng(16, 16, SolidRgb(16, 16, 1, 2, 3));
  ImageOptions options = Options(3, 8, 8);
  options.max_pixels = 255;
  ExpectInvalid(png, options, "16x16");
  options.max_pixels = 256;
  EXPECT_TRUE(DecodeAndPreprocess(png, options).ok());
}

TEST(ImageTest, OptionsAreValidated) {
  const std::string png = MakeRgbPng(1, 1, {1, 2, 3});
  ImageOptions options = Options(3, 4, 4);
  options.channels = 2;
  ExpectInvalid(png, options, "channels");
  options = Options(3, 4, 4);
  options.mean = {0.5f};
  ExpectInvalid(png, options, "mean has 1 entries");
  options = Options(3, 4, 4);
  options.std = {1.0f, 0.0f, 1.0f};
  ExpectInvalid(png, options, "std entry 0");
  options = Options(3, 0, 4);
  ExpectInvalid(png, options, "size 0x4");
  options = Options(3, 10000, 10000);
  ExpectInvalid(png, options, "at most max_pixels");
}

TEST(ImageTest, ValidatePixelsChecksShapeSizeAndFiniteness) {
  const ImageOptions options = Options(3, 2, 2);
  std::vector<float> data(12, 0.5f);
  EXPECT_TRUE(ValidatePixels(data, std::vector<int64_t>{3, 2, 2}, options).ok());
  auto message = [&](const std::vector<float>& d, const std::vector<int64_t>& shape) {
    absl::Status status = ValidatePixels(d, shape, options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  EXPECT_THAT(message(data, {3, 4}),
              HasSubstr("shape [3, 4] does not match the model's [3, 2, 2]"));
  EXPECT_THAT(message(data, {1, 2, 2}), HasSubstr("image.pixels"));
  EXPECT_THAT(message(data, {3, 2, -2}), HasSubstr("does not match"));
  // A huge shape is not echoed whole (the message must fit in gRPC metadata).
  const std::string huge = message(data, std::vector<int64_t>(1000000, 7));
  EXPECT_THAT(huge, HasSubstr("shape [7, 7, 7, 7, 7, 7, 7, 7, ...] (1000000 dimensions) does not "
                              "match the model's [3, 2, 2]"));
  EXPECT_LT(huge.size(), 200u);
  EXPECT_THAT(message(std::vector<float>(11, 0.5f), {3, 2, 2}), HasSubstr("11 values"));
  data[7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(message(data, {3, 2, 2}), HasSubstr("value 7 is not finite"));
  data[7] = -std::numeric_limits<float>::infinity();
  EXPECT_THAT(message(data, {3, 2, 2}), HasSubstr("value 7"));
}

TEST(ImageTest, DetectFormatUsesMagicBytes) {
  EXPECT_EQ(DetectFormat(MakeRgbPng(1, 1, {0, 0, 0})), ImageFormat::kPng);
  EXPECT_EQ(DetectFormat(MakeJpeg(1, 1, 1, {0})), ImageFormat::kJpeg);
  EXPECT_EQ(DetectFormat("BM"), ImageFormat::kUnknown);
}

}  // namespace
}  // namespace lion::image
