// CPU kernels: the elements split across threads.
#include "ops/logic/logic_kernels.h"

namespace engine {
LogicKernels logic_cpu_kernels() { return logic_kernels_for<ThreadedLoop>(); }
}  // namespace engine
