// CPU kernels: the lines split across threads, each summed in order.
#include "ops/cumsum/cumsum_kernels.h"

namespace engine {
CumSumKernels cumsum_cpu_kernels() { return cumsum_kernels_for<ThreadedLoop>(); }
}  // namespace engine
