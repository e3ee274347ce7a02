// CPU kernels: the elements split across threads.
#include "ops/mod/mod_kernels.h"

namespace engine {
ModKernels mod_cpu_kernels() { return mod_kernels_for<ThreadedLoop>(); }
}  // namespace engine
