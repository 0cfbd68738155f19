#pragma once
// Build-wide configuration of xinfer. Everything here can be overridden by defining the macro before inclusion.

#define XINFER_VERSION_MAJOR 0
#define XINFER_VERSION_MINOR 1
#define XINFER_VERSION_PATCH 0
#define XINFER_VERSION_STRING "0.1.0"

// Bytes every activation and weight buffer carries past its end, so SIMD kernels may over-read (never over-write)
// up to one full vector of the widest supported ISA.
#ifndef XINFER_EXTRA_BYTES
#define XINFER_EXTRA_BYTES 64
#endif

// Alignment of every buffer xinfer allocates, and of tensor data inside .xinf files.
#ifndef XINFER_ALIGNMENT
#define XINFER_ALIGNMENT 64
#endif

// Kernel preconditions. Off by default (kernels are hot); on in debug builds and tests.
#ifndef XINFER_ASSERT
#if defined(XINFER_ENABLE_ASSERT) || !defined(NDEBUG)
#include <cassert>
#define XINFER_ASSERT(cond) assert(cond)
#else
#define XINFER_ASSERT(cond) ((void)0)
#endif
#endif

// The SIMD architecture the kernels are compiled for. Defaults to the best one the compiler targets
// (-march=native, -mavx2 -mfma, ...). Define XINFER_ARCH to pin one, e.g. -DXINFER_ARCH=xsimd::sse4_2.
#ifndef XINFER_ARCH
#define XINFER_ARCH xsimd::default_arch
#endif

// Keeps a microkernel out of line: inlined into a large caller, g++ 12 spills its accumulators to the stack.
#if defined(__GNUC__) || defined(__clang__)
#define XINFER_NOINLINE __attribute__((noinline))
#else
#define XINFER_NOINLINE
#endif

// Full unrolling of the short register-tile loops of microkernels, so that accumulator arrays live in registers
// (without it g++ -O2 keeps them on the stack).
#if defined(__clang__)
#define XINFER_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define XINFER_UNROLL _Pragma("GCC unroll 16")
#else
#define XINFER_UNROLL
#endif

// Forced inlining of small microkernel bodies called from several places in a kernel's loop nest.
#if defined(__GNUC__) || defined(__clang__)
#define XINFER_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define XINFER_ALWAYS_INLINE inline
#endif
