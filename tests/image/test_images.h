// Builders of small PNG and JPEG files for the image tests. PNGs are written
// chunk by chunk (zlib + CRC), so tests control bit depth, color type and
// header fields exactly; JPEGs are encoded with libjpeg.
#ifndef LION_TESTS_IMAGE_TEST_IMAGES_H_
#define LION_TESTS_IMAGE_TEST_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lion::image::testing {

// PNG color types (PNG spec 11.2.2).
inline constexpr uint8_t kPngGray = 0, kPngRgb = 2, kPngPalette = 3, kPngGrayAlpha = 4,
                         kPngRgba = 6;

// One PNG chunk: length, type, data, CRC.
std::string PngChunk(const std::string& type, const std::string& data);

// A complete PNG. `rows` holds the raw sample bytes of each row (without the
// filter byte; 16-bit samples big-endian); `extra` is inserted between IHDR
// and IDAT (PLTE, tRNS, ...).
std::string MakePng(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type,
                    const std::vector<std::string>& rows, const std::string& extra = "");

// Recomputes the CRC of every complete chunk, so damaged chunk data reaches
// libpng's decoder instead of failing the CRC check.
std::string FixPngCrcs(std::string png);

// A PNG of 8-bit RGB pixels given as HWC bytes.
std::string MakeRgbPng(uint32_t width, uint32_t height, const std::vector<uint8_t>& rgb);

// A baseline JPEG of HWC pixels (components 3 = RGB, 1 = grayscale).
std::string MakeJpeg(int width, int height, int components, const std::vector<uint8_t>& pixels,
                     int quality = 100);

// Every pixel the same RGB color.
std::vector<uint8_t> SolidRgb(int width, int height, uint8_t r, uint8_t g, uint8_t b);

}  // namespace lion::image::testing

#endif  // LION_TESTS_IMAGE_TEST_IMAGES_H_
