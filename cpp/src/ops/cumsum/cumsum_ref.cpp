// Reference kernels: one line at a time, in order.
#include "ops/cumsum/cumsum_kernels.h"

namespace engine {
CumSumKernels cumsum_ref_kernels() { return cumsum_kernels_for<SerialLoop>(); }
}  // namespace engine
