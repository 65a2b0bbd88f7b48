#include "server/common/allocator.h"

#include <dlfcn.h>
#include <malloc.h>

namespace lion {
namespace {

using ReleaseFn = void (*)();

// gperftools' C API; present in the process only when tcmalloc was loaded.
ReleaseFn TcmallocRelease() {
  static const ReleaseFn fn =
      reinterpret_cast<ReleaseFn>(dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"));
  return fn;
}

}  // namespace

std::string_view AllocatorName() { return TcmallocRelease() != nullptr ? "tcmalloc" : "glibc"; }

void ReleaseFreeMemory() {
  if (ReleaseFn release = TcmallocRelease(); release != nullptr) {
    release();
  } else {
    malloc_trim(0);
  }
}

}  // namespace lion
