# xinfer_simd(<target> [<level>]): compile <target> for a SIMD level. The xinfer library itself adds no flags; a
# program picks its level here (or with its own flags). xsimd then selects the best architecture the compiler
# targets, and the kernels follow (see XINFER_ARCH in include/xinfer/config.hpp).
#   native   -march=native (the default for xinfer's own programs: fastest on the build machine, not portable)
#   avx2     -mavx2 -mfma  (x86-64 with AVX2 + FMA, e.g. Haswell / Zen and later)
#   sse4.2   -msse4.2
#   none     the compiler's default target (SSE2 on x86-64)
#   anything else is taken as a list of compiler flags.
set(XINFER_SIMD "native" CACHE STRING "SIMD level of xinfer's own programs: native, avx2, sse4.2, none, or flags")

function(xinfer_simd target)
  set(level ${XINFER_SIMD})
  if(ARGC GREATER 1)
    set(level ${ARGV1})
  endif()
  if(level STREQUAL "native")
    target_compile_options(${target} PRIVATE -march=native)
  elseif(level STREQUAL "avx2")
    target_compile_options(${target} PRIVATE -mavx2 -mfma)
  elseif(level STREQUAL "sse4.2")
    target_compile_options(${target} PRIVATE -msse4.2)
  elseif(NOT level STREQUAL "none")
    separate_arguments(flags UNIX_COMMAND "${level}")
    target_compile_options(${target} PRIVATE ${flags})
  endif()
endfunction()
