#pragma once
// Small helpers shared by the fp32 microkernels.
#include <utility>

#include "xinfer/config.hpp"

namespace xinfer::kernels::f32 {

// Keeps a loaded vector in a register. Without it GCC may fold the load into every FMA that uses the value,
// turning one load into several and making an L1-load-bound loop of an FMA-bound one.
template <class B>
XINFER_ALWAYS_INLINE void keep_in_register(B& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
    asm("" : "+x"(v.data));
#else
    (void)v;
#endif
}

// f(std::integral_constant<int, i>{}) for i = 0..N-1, fully unrolled (the index is a constant expression).
template <class F, int... I>
XINFER_ALWAYS_INLINE void unrolled(F&& f, std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
}
template <int N, class F>
XINFER_ALWAYS_INLINE void unrolled(F&& f) {
    unrolled(f, std::make_integer_sequence<int, N>{});
}

}  // namespace xinfer::kernels::f32
