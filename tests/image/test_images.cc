#include "tests/image/test_images.h"

#include <jpeglib.h>
#include <zlib.h>

#include <cstdio>
#include <stdexcept>

namespace lion::image::testing {
namespace {

void PutBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

}  // namespace

std::string PngChunk(const std::string& type, const std::string& data) {
  std::string chunk;
  PutBigEndian32(&chunk, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  chunk += body;
  PutBigEndian32(&chunk, static_cast<uint32_t>(
                             crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
  return chunk;
}

std::string MakePng(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type,
                    const std::vector<std::string>& rows, const std::string& extra) {
  std::string ihdr;
  PutBigEndian32(&ihdr, width);
  PutBigEndian32(&ihdr, height);
  ihdr += {static_cast<char>(bit_depth), static_cast<char>(color_type), 0, 0, 0};
  std::string raw;
  for (const std::string& row : rows) raw += '\0' + row;  // filter type 0 (None)
  uLongf size = compressBound(raw.size());
  std::string compressed(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 9) != Z_OK) {
    throw std::runtime_error("zlib compress2 failed");
  }
  compressed.resize(size);
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + extra +
         PngChunk("IDAT", compressed) + PngChunk("IEND", "");
}

std::string FixPngCrcs(std::string png) {
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(png[i])); };
    const uint32_t length =
        byte(pos) << 24 | byte(pos + 1) << 16 | byte(pos + 2) << 8 | byte(pos + 3);
    if (length > png.size() - pos - 12) break;
    const std::string chunk = PngChunk(png.substr(pos + 4, 4), png.substr(pos + 8, length));
    png.replace(pos, chunk.size(), chunk);
    pos += chunk.size();
  }
  return png;
}

std::string MakeRgbPng(uint32_t width, uint32_t height, const std::vector<uint8_t>& rgb) {
  std::vector<std::string> rows;
  for (uint32_t y = 0; y < height; ++y) {
    rows.emplace_back(reinterpret_cast<const char*>(rgb.data()) + y * width * 3, width * 3);
  }
  return MakePng(width, height, 8, kPngRgb, rows);
}

std::string MakeJpeg(int width, int height, int components, const std::vector<uint8_t>& pixels,
                     int quality) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);  // exits on error: acceptable in a test writer
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  // No chroma subsampling, so a solid color survives exactly enough to test.
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) +
                   static_cast<size_t>(cinfo.next_scanline) * width * components;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&cinfo);
  free(buffer);
  return out;
}

std::vector<uint8_t> SolidRgb(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> rgb;
  rgb.reserve(static_cast<size_t>(width) * height * 3);
  for (int i = 0; i < width * height; ++i) rgb.insert(rgb.end(), {r, g, b});
  return rgb;
}

}  // namespace lion::image::testing
