// Reference kernels: one element at a time, in order.
#include "ops/gather_elements/gather_elements_kernels.h"

namespace engine {
GatherElementsKernels gather_elements_ref_kernels() {
  return gather_elements_kernels_for<SerialLoop, SerialLoop>();
}
}  // namespace engine
