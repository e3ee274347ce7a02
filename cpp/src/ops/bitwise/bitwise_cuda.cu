#include "cuda/launch.cuh"
#include "ops/bitwise/bitwise_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(bitwise_cuda_entry, BitwiseKernels,
                           bitwise_kernels_for<GridLoop<DeviceGrid>>())
