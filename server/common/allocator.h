// The process's malloc, seen from the server: which one runs (lion-serve links
// tcmalloc when the build found it; see cmake/LionAllocator.cmake) and a way
// to hand freed memory back to the system after an unusually large batch.
// Detection is at run time (dlsym), so code in libraries and tests needs no
// build flag and behaves the same under either allocator.
#ifndef LION_SERVER_COMMON_ALLOCATOR_H_
#define LION_SERVER_COMMON_ALLOCATOR_H_

#include <string_view>

namespace lion {

// "tcmalloc" when gperftools' tcmalloc serves malloc in this process, else "glibc".
std::string_view AllocatorName();

// Returns cached free memory to the system: tcmalloc's page heap, or glibc's
// free heap top (malloc_trim). Not free: tcmalloc took 36 ms for 0.5 GiB and
// 306 ms for 4 GiB of freed, touched blocks here, so call it only after work
// that needed far more memory than usual, and after its results are out.
void ReleaseFreeMemory();

}  // namespace lion

#endif  // LION_SERVER_COMMON_ALLOCATOR_H_
