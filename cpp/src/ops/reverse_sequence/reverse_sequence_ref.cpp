// Reference kernels: one element at a time, in order.
#include "ops/reverse_sequence/reverse_sequence_kernels.h"

namespace engine {
ReverseSequenceKernels reverse_sequence_ref_kernels() {
  return reverse_sequence_kernels_for<SerialLoop>();
}
}  // namespace engine
