// CPU kernels: the elements split across threads.
#include "ops/cast/cast_kernels.h"

namespace engine {
CastKernels cast_cpu_kernels() { return cast_kernels_for<ThreadedLoop>(); }
}  // namespace engine
