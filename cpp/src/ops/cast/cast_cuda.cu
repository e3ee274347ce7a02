#include "cuda/launch.cuh"
#include "ops/cast/cast_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(cast_cuda_entry, CastKernels, cast_kernels_for<GridLoop<DeviceGrid>>())
