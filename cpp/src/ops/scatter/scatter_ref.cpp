// Reference kernels: one element at a time, in order.
#include "ops/scatter/scatter_kernels.h"

namespace engine {
ScatterKernels scatter_ref_kernels() { return scatter_kernels_for<SerialLoop, SerialLoop>(); }
}  // namespace engine
