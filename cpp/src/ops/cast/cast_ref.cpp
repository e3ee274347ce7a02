// Reference kernels: one element at a time, in order.
#include "ops/cast/cast_kernels.h"

namespace engine {
CastKernels cast_ref_kernels() { return cast_kernels_for<SerialLoop>(); }
}  // namespace engine
