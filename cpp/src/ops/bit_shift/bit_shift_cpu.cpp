// CPU kernels: the elements split across threads.
#include "ops/bit_shift/bit_shift_kernels.h"

namespace engine {
BitShiftKernels bit_shift_cpu_kernels() { return bit_shift_kernels_for<ThreadedLoop>(); }
}  // namespace engine
