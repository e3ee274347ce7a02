// Reference kernels: one element at a time, in order.
#include "ops/logic/logic_kernels.h"

namespace engine {
LogicKernels logic_ref_kernels() { return logic_kernels_for<SerialLoop>(); }
}  // namespace engine
