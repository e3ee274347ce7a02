#include "cuda/launch.cuh"
#include "ops/cumsum/cumsum_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(cumsum_cuda_entry, CumSumKernels,
                           (cumsum_kernels_for<GridLoop<DeviceGrid>>()))
