// Reference kernel: one output at a time, in order.
#include "ops/argmax/argmax_kernels.h"

namespace engine {
ArgmaxKernels argmax_ref_kernels() { return argmax_kernels_for<SerialLoop>(); }
}  // namespace engine
