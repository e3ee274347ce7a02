// Reference kernels: one element at a time, in order.
#include "ops/bitwise/bitwise_kernels.h"

namespace engine {
BitwiseKernels bitwise_ref_kernels() { return bitwise_kernels_for<SerialLoop>(); }
}  // namespace engine
