#include "cuda/launch.cuh"
#include "ops/where/where_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(where_cuda_entry, WhereKernels, where_kernels_for<GridLoop<DeviceGrid>>())
