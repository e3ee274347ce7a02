// CPU kernels: gathers split across threads; the scatter in order (repeated targets: the
// last update wins, sums add in order).
#include "ops/scatter/scatter_kernels.h"

namespace engine {
ScatterKernels scatter_cpu_kernels() { return scatter_kernels_for<ThreadedLoop, SerialLoop>(); }
}  // namespace engine
