#include "cuda/launch.cuh"
#include "ops/bit_shift/bit_shift_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(bit_shift_cuda_entry, BitShiftKernels,
                           bit_shift_kernels_for<GridLoop<DeviceGrid>>())
