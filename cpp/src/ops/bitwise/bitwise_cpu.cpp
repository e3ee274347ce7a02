// CPU kernels: the elements split across threads.
#include "ops/bitwise/bitwise_kernels.h"

namespace engine {
BitwiseKernels bitwise_cpu_kernels() { return bitwise_kernels_for<ThreadedLoop>(); }
}  // namespace engine
