// CPU kernels: the elements split across threads.
#include "ops/where/where_kernels.h"

namespace engine {
WhereKernels where_cpu_kernels() { return where_kernels_for<ThreadedLoop>(); }
}  // namespace engine
