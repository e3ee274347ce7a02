#include "cuda/launch.cuh"
#include "ops/trilu/trilu_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(trilu_cuda_entry, TriluKernels,
                           trilu_kernels_for<GridLoop<DeviceGrid>>())
