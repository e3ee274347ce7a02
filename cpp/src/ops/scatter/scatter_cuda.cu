#include "cuda/launch.cuh"
#include "ops/scatter/scatter_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(scatter_cuda_entry, ScatterKernels,
                           (scatter_kernels_for<GridLoop<DeviceGrid>, GridLoop<DeviceGrid>>()))
