// Reference kernel: one element at a time, in order.
#include "ops/trilu/trilu_kernels.h"

namespace engine {
TriluKernels trilu_ref_kernels() { return trilu_kernels_for<SerialLoop>(); }
}  // namespace engine
