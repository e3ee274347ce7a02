// CPU kernel: the outputs split across threads.
#include "ops/argmax/argmax_kernels.h"

namespace engine {
ArgmaxKernels argmax_cpu_kernels() { return argmax_kernels_for<ThreadedLoop>(); }
}  // namespace engine
