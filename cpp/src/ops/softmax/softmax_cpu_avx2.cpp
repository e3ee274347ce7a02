// The row loop of softmax_row_loops.h compiled for AVX2/FMA; softmax_cpu.cpp calls it after
// the CPUID check.
#include "ops/softmax/softmax_row_loops.h"

namespace engine {

SoftmaxRow softmax_row_avx2(bool log) { return log ? softmax_row<true> : softmax_row<false>; }

}  // namespace engine
