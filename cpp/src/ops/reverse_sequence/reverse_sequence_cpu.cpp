// CPU kernels: the elements split across threads.
#include "ops/reverse_sequence/reverse_sequence_kernels.h"

namespace engine {
ReverseSequenceKernels reverse_sequence_cpu_kernels() {
  return reverse_sequence_kernels_for<ThreadedLoop>();
}
}  // namespace engine
