// Reference kernels: one element at a time, in order.
#include "ops/mod/mod_kernels.h"

namespace engine {
ModKernels mod_ref_kernels() { return mod_kernels_for<SerialLoop>(); }
}  // namespace engine
