// ENGINE_HD marks functions (formulas, kernel bodies) that both the host compiler and the
// CUDA compiler's device pass compile; without nvcc it is nothing.
#pragma once

#if defined(__CUDACC__)
#define ENGINE_HD __host__ __device__
#else
#define ENGINE_HD
#endif

// ENGINE_IVDEP before a host loop: its iterations touch disjoint elements (what one writes
// no other reads), so the compiler may vectorize it without runtime alias checks between
// its pointers. Nothing under nvcc, whose kernels run such loops one index per thread.
#if defined(__CUDACC__)
#define ENGINE_IVDEP
#elif defined(__clang__)
#define ENGINE_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define ENGINE_IVDEP _Pragma("GCC ivdep")
#else
#define ENGINE_IVDEP
#endif

// ENGINE_INLINE on a formula that vectorized host loops call: inlined whatever the
// compiler's size heuristics say, since one call left in the loop keeps it scalar.
#if defined(__CUDACC__)
#define ENGINE_INLINE __forceinline__
#elif defined(__GNUC__)
#define ENGINE_INLINE inline __attribute__((always_inline))
#else
#define ENGINE_INLINE inline
#endif
