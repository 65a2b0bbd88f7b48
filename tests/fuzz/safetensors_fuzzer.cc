// Fuzz target: the safetensors reader. The input is a whole file: written to
// a per-process temp file, opened with SafetensorsFile::Open (which reads and
// validates the header), then every tensor is read with Float32. Invariants:
// Open fails only with INVALID_ARGUMENT; after a successful Open every tensor
// reads (the header was validated against the file), with the element count
// and shape the header gives, and the file reads as unchanged.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/model/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

namespace lion::fuzz {
namespace {

const std::string& TempFile() {
  static const std::string* path =
      new std::string((std::filesystem::temp_directory_path() /
                       absl::StrCat("lion_safetensors_fuzz_", getpid(), ".safetensors"))
                          .string());
  return *path;
}

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = TempFile();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) CheckSetup(absl::InternalError("cannot write " + path), "temp file");
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  auto file = model::SafetensorsFile::Open(path);
  if (!file.ok()) {
    FUZZ_CHECK(file.status().code() == absl::StatusCode::kInvalidArgument,
               file.status().ToString());
    return 0;
  }
  for (const std::string& name : (*file)->names()) {
    const absl::StatusOr<model::TensorInfo> info = (*file)->info(name);
    FUZZ_CHECK(info.ok(), info.status().ToString());
    FUZZ_CHECK(info->end <= size, absl::StrCat(name, " ends at ", info->end));
    const absl::StatusOr<at::Tensor> t = (*file)->Float32(name, info->shape);
    FUZZ_CHECK(t.ok(), t.status().ToString());
    FUZZ_CHECK(t->numel() == info->numel && t->sizes().vec() == info->shape,
               absl::StrCat(name, ": ", t->numel(), " elements, header says ", info->numel));
  }
  const absl::Status unchanged = (*file)->CheckUnchanged();
  FUZZ_CHECK(unchanged.ok(), unchanged.ToString());
  return 0;
}

}  // namespace
}  // namespace lion::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lion::fuzz::TestOneInput(data, size);
}
