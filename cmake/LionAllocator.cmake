# lion_fast_malloc: an INTERFACE target that the serving and benchmark
# executables link to replace glibc malloc with tcmalloc (gperftools' minimal
# build, Debian's libgoogle-perftools-dev).
#
# Why: every LibTorch op allocates its output. glibc serves blocks over 32 MiB
# (its largest mmap threshold) from fresh mmap'd pages on every call, so long
# inputs pay a page fault per 4 KiB of each activation, every layer. tcmalloc
# keeps freed spans and reuses them. Measured (BENCHMARKS.md section 5,
# bench/allocator_bench.sh): 0.82x glibc's time on the chunk form at L = 32768,
# 0.86x on lion-mlm-mini requests, never slower; jemalloc and mimalloc were
# slower than glibc on batches (up to 1.35x).
#
# LION_TCMALLOC: AUTO (use it when found), ON (required), OFF (glibc). The
# sanitizer presets set OFF: ASan and TSan bring their own allocator.
set(LION_TCMALLOC "AUTO" CACHE STRING "Link the server and benchmarks with tcmalloc: AUTO, ON, OFF")
set_property(CACHE LION_TCMALLOC PROPERTY STRINGS AUTO ON OFF)

add_library(lion_fast_malloc INTERFACE)
set(LION_HAVE_TCMALLOC OFF)
if(NOT LION_TCMALLOC STREQUAL "OFF")
  find_library(LION_TCMALLOC_LIBRARY NAMES tcmalloc_minimal)
  if(LION_TCMALLOC_LIBRARY)
    set(LION_HAVE_TCMALLOC ON)
    # --no-as-needed: nothing references tcmalloc by name; it must still load
    # (ahead of libc) to take over malloc and free.
    target_link_libraries(lion_fast_malloc INTERFACE
      "-Wl,--push-state,--no-as-needed" ${LION_TCMALLOC_LIBRARY} "-Wl,--pop-state")
  elseif(LION_TCMALLOC STREQUAL "ON")
    message(FATAL_ERROR "LION_TCMALLOC=ON but libtcmalloc_minimal was not found "
                        "(Debian: libgoogle-perftools-dev)")
  endif()
endif()
message(STATUS "lion-serve allocator: ${LION_HAVE_TCMALLOC} (tcmalloc; OFF = glibc malloc)")
