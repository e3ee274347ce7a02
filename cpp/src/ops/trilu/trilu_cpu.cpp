// CPU kernel: the elements split across threads.
#include "ops/trilu/trilu_kernels.h"

namespace engine {
TriluKernels trilu_cpu_kernels() { return trilu_kernels_for<ThreadedLoop>(); }
}  // namespace engine
