// ENGINE_HD marks functions (formulas, kernel bodies) that both the host compiler and the
// CUDA compiler's device pass compile; without nvcc it is nothing.
#pragma once

#if defined(__CUDACC__)
#define ENGINE_HD __host__ __device__
#else
#define ENGINE_HD
#endif
