// CPU kernels: the forward's outputs split across threads; the backward in order (repeated
// indices add into one place).
#include "ops/gather_elements/gather_elements_kernels.h"

namespace engine {
GatherElementsKernels gather_elements_cpu_kernels() {
  return gather_elements_kernels_for<ThreadedLoop, SerialLoop>();
}
}  // namespace engine
