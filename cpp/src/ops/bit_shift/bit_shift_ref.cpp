// Reference kernels: one element at a time, in order.
#include "ops/bit_shift/bit_shift_kernels.h"

namespace engine {
BitShiftKernels bit_shift_ref_kernels() { return bit_shift_kernels_for<SerialLoop>(); }
}  // namespace engine
