// JPEG decoding through libjpeg-turbo. libjpeg reports errors by calling
// error_exit, whose default calls exit(): ours longjmps back to RunDecoder.
// To keep that well-defined in C++, RunDecoder touches all decoder state only
// through a pointer to a JpegState owned by the caller, and holds no object
// with a destructor while libjpeg runs.
#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/image/decode.h"

namespace lion::image {
namespace {

// Progressive JPEGs can carry thousands of tiny scans that each re-run the
// decoder (a CPU bomb); real encoders emit about ten. Same limit as
// libjpeg-turbo's TJFLAG_LIMITSCANS.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg sees only this part
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct JpegState {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  jpeg_progress_mgr progress;
};

[[noreturn]] void Fail(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}

[[noreturn]] void ErrorExit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  Fail(cinfo);
}

// Level -1 is a warning about corrupt data ("premature end of data segment",
// "extraneous bytes"): libjpeg would go on with made-up pixels, we reject the
// image. Trace messages (level >= 0) are dropped.
void EmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) ErrorExit(cinfo);
}

void OutputMessage(j_common_ptr) {}

void ProgressMonitor(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->progressive_mode && dinfo->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof(err->message), "more than %d progressive scans", kMaxScans);
    Fail(cinfo);
  }
}

// Returns false after a libjpeg error (message in s->err.message). A size
// over the limit returns true with *dims set to the error, before any pixel
// buffer is allocated.
bool RunDecoder(JpegState* s, std::string_view encoded, int64_t max_pixels, DecodedImage* out,
                absl::Status* dims) {
  if (setjmp(s->err.jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  s->cinfo.progress = &s->progress;
  jpeg_mem_src(&s->cinfo, reinterpret_cast<const unsigned char*>(encoded.data()),
               static_cast<unsigned long>(encoded.size()));
  jpeg_read_header(&s->cinfo, /*require_image=*/TRUE);
  *dims = CheckDimensions(s->cinfo.image_width, s->cinfo.image_height, max_pixels, "JPEG");
  if (!dims->ok()) return true;
  s->cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&s->cinfo);
  if (s->cinfo.output_components != 3) {
    std::snprintf(s->err.message, sizeof(s->err.message), "decoder produced %d channels, not 3",
                  s->cinfo.output_components);
    return false;
  }
  out->width = s->cinfo.output_width;
  out->height = s->cinfo.output_height;
  out->rgb.resize(static_cast<size_t>(out->width * out->height * 3));
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = &out->rgb[static_cast<size_t>(s->cinfo.output_scanline) * out->width * 3];
    if (jpeg_read_scanlines(&s->cinfo, &row, 1) != 1) {
      std::snprintf(s->err.message, sizeof(s->err.message), "decoder stopped at row %u",
                    s->cinfo.output_scanline);
      return false;
    }
  }
  jpeg_finish_decompress(&s->cinfo);
  return true;
}

}  // namespace

absl::StatusOr<DecodedImage> DecodeJpeg(std::string_view encoded, int64_t max_pixels) {
  JpegState state;
  std::memset(&state, 0, sizeof(state));
  state.cinfo.err = jpeg_std_error(&state.err.pub);
  state.err.pub.error_exit = ErrorExit;
  state.err.pub.emit_message = EmitMessage;
  state.err.pub.output_message = OutputMessage;
  state.progress.progress_monitor = ProgressMonitor;

  DecodedImage out;
  absl::Status dims;
  const bool ok = RunDecoder(&state, encoded, max_pixels, &out, &dims);
  jpeg_destroy_decompress(&state.cinfo);  // safe after any failure point
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("image.encoded: invalid JPEG: ", state.err.message));
  }
  if (!dims.ok()) return dims;
  return out;
}

}  // namespace lion::image
