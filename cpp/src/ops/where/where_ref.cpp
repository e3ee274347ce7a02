// Reference kernels: one element at a time, in order.
#include "ops/where/where_kernels.h"

namespace engine {
WhereKernels where_ref_kernels() { return where_kernels_for<SerialLoop>(); }
}  // namespace engine
